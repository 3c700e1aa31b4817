/**
 * OWASP API5:2023 Broken Function Level Authorization. A role × operation matrix over every
 * operation of the OpenAPI document, with the status DESIGN.md's role rules give each cell:
 * the operation's success status where the role grants it, 403 FORBIDDEN where it does not
 * (401 without a token). Every allowed cell really succeeds on a fresh fixture; every refused
 * cell leaves its target as it was.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import request from 'supertest';
import { upload } from '../support/fixtures';
import {
  Access,
  ACCESS,
  allowed,
  call,
  isPublic,
  loadSpec,
  OpenApiDocument,
  operationsOf,
  RESULTS_DIR,
  ROLE_SETS,
  SecurityLog,
  serve,
} from '../support/security-harness';
import {
  newVersion,
  newWebhook,
  requestProduction,
  tokenFor,
  uniqueName,
  uploadArtifact,
} from '../support/security-fixtures';
import { BASE, createTestApp, removeDir, TestApp } from '../support/test-app';

jest.setTimeout(90_000);

const CAT = 'API5 function level';
const TENANT = 'fl-t';

interface Target {
  url: string;
  body?: Record<string, unknown>;
  upload?: boolean;
  /** A GET whose answer must not change when the call is refused. */
  probe?: string;
}

interface Row {
  /** The operation, as in ACCESS: `post /models/{name}/versions/{version}/stage`. */
  key: string;
  variant?: string;
  success: number;
  prepare: () => Target | Promise<Target>;
}

describe('OWASP API5: function level authorization, role × operation (e2e)', () => {
  const log = new SecurityLog('api5-function-level');
  let t: TestApp;
  let spec: OpenApiDocument;
  let owner: string;
  let decider: string;
  let admin: string;
  let shared: { name: string; artifact: string; approval: string };
  const callers: Record<string, string | undefined> = {};

  beforeAll(async () => {
    t = await serve(await createTestApp());
    spec = await loadSpec(t);
    owner = await tokenFor(TENANT, 'owner', ['editor']);
    decider = await tokenFor(TENANT, 'fl-decider', ['approver']);
    admin = await tokenFor(TENANT, 'fl-admin', ['admin']);
    const name = uniqueName('fl-shared');
    await newVersion(t, owner, name, { f1_score: 0.8 });
    await newVersion(t, owner, name, { f1_score: 0.9 });
    shared = {
      name,
      artifact: await uploadArtifact(t, owner),
      approval: await requestProduction(t, owner, name, 2),
    };
    for (const [label, roles] of Object.entries(ROLE_SETS)) {
      callers[label] = await tokenFor(TENANT, `caller-${label.replace(/\W/g, '')}`, roles);
    }
    callers['no token'] = undefined;
    // The policy reads have something to read: empty staging policies change no rule.
    await call(t, 'put', `${BASE}/policies/staging`, admin, {}).expect(200);
    await call(t, 'put', `${BASE}/models/${shared.name}/policies/staging`, admin, {}).expect(200);
  });

  afterAll(async () => {
    log.write();
    await t.close();
    removeDir(t.dataDir);
  });

  const M = `${BASE}/models`;
  const freshVersion = async (): Promise<{ name: string; version: number }> => {
    const name = uniqueName('fl');
    return { name, version: await newVersion(t, owner, name) };
  };
  /** Status and body of a GET, without the request id. */
  const snapshot = async (url: string): Promise<string> => {
    const res = await call(t, 'get', url, owner);
    const body = { ...(res.body as Record<string, unknown>) };
    delete body['request_id'];
    return JSON.stringify([res.status, body]);
  };
  const W = `${BASE}/webhooks`;
  /** A webhook (and its test delivery), made by an admin of the tenant. */
  const freshWebhook = async () => newWebhook(t, await tokenFor(TENANT, 'hook-admin', ['admin']));
  const freshApproval = async (): Promise<string> => {
    const { name, version } = await freshVersion();
    return requestProduction(t, owner, name, version);
  };

  const ROWS: Row[] = [
    { key: 'get /health/live', success: 200, prepare: () => ({ url: '/health/live' }) },
    { key: 'get /health/ready', success: 200, prepare: () => ({ url: '/health/ready' }) },
    {
      key: 'post /artifacts',
      success: 201,
      prepare: () => ({ url: `${BASE}/artifacts`, upload: true }),
    },
    {
      key: 'get /artifacts/{artifact_id}',
      success: 200,
      prepare: () => ({ url: `${BASE}/artifacts/${shared.artifact}` }),
    },
    {
      key: 'get /artifacts/{artifact_id}/files/{file}',
      success: 200,
      prepare: () => ({ url: `${BASE}/artifacts/${shared.artifact}/files/model.pkl` }),
    },
    {
      key: 'post /models',
      success: 201,
      prepare: async () => {
        const name = uniqueName('fl-new');
        return {
          url: M,
          body: { name, artifact_id: await uploadArtifact(t, owner) },
          probe: `${M}/${name}`,
        };
      },
    },
    { key: 'get /models', success: 200, prepare: () => ({ url: M }) },
    {
      key: 'get /models/{name}',
      success: 200,
      prepare: () => ({ url: `${M}/${shared.name}` }),
    },
    {
      key: 'patch /models/{name}',
      success: 200,
      prepare: async () => {
        const { name } = await freshVersion();
        return { url: `${M}/${name}`, body: { description: 'changed' }, probe: `${M}/${name}` };
      },
    },
    {
      key: 'delete /models/{name}',
      success: 204,
      prepare: async () => {
        const { name } = await freshVersion();
        return { url: `${M}/${name}`, probe: `${M}/${name}` };
      },
    },
    {
      key: 'delete /models/{name}/versions/{version}',
      success: 204,
      prepare: async () => {
        const { name, version } = await freshVersion();
        const url = `${M}/${name}/versions/${version}`;
        return { url, probe: url };
      },
    },
    {
      key: 'get /models/{name}/versions',
      success: 200,
      prepare: () => ({ url: `${M}/${shared.name}/versions` }),
    },
    {
      key: 'get /models/{name}/versions/{version}',
      success: 200,
      prepare: () => ({ url: `${M}/${shared.name}/versions/1` }),
    },
    {
      key: 'patch /models/{name}/versions/{version}',
      success: 200,
      prepare: async () => {
        const { name, version } = await freshVersion();
        const url = `${M}/${name}/versions/${version}`;
        return { url, body: { tags: { reviewed: 'yes' } }, probe: url };
      },
    },
    ...(['staging', 'archived', 'none'] as const).map((stage): Row => ({
      key: 'post /models/{name}/versions/{version}/stage',
      variant: stage,
      success: 200,
      prepare: async () => {
        const { name, version } = await freshVersion();
        const url = `${M}/${name}/versions/${version}`;
        if (stage === 'none') {
          await call(t, 'post', `${url}/stage`, owner, { stage: 'staging' }).expect(200);
        }
        return { url: `${url}/stage`, body: { stage }, probe: url };
      },
    })),
    {
      key: 'post /models/{name}/versions/{version}/stage',
      variant: 'production',
      success: 202,
      prepare: async () => {
        const { name, version } = await freshVersion();
        return {
          url: `${M}/${name}/versions/${version}/stage`,
          body: { stage: 'production' },
          probe: `${BASE}/approvals?model=${name}`,
        };
      },
    },
    {
      key: 'get /models/{name}/versions/{version}/transitions',
      success: 200,
      prepare: () => ({ url: `${M}/${shared.name}/versions/2/transitions` }),
    },
    {
      key: 'get /models/{name}/compare',
      success: 200,
      prepare: () => ({ url: `${M}/${shared.name}/compare?versions=1,2` }),
    },
    {
      key: 'put /models/{name}/aliases/{alias}',
      success: 200,
      prepare: async () => {
        const { name, version } = await freshVersion();
        return {
          url: `${M}/${name}/aliases/challenger`,
          body: { version },
          probe: `${M}/${name}`,
        };
      },
    },
    {
      key: 'get /models/{name}/aliases/{alias}',
      success: 200,
      prepare: async () => {
        const { name, version } = await freshVersion();
        const url = `${M}/${name}/aliases/challenger`;
        await call(t, 'put', url, owner, { version }).expect(200);
        return { url };
      },
    },
    {
      key: 'delete /models/{name}/aliases/{alias}',
      success: 204,
      prepare: async () => {
        const { name, version } = await freshVersion();
        const url = `${M}/${name}/aliases/challenger`;
        await call(t, 'put', url, owner, { version }).expect(200);
        return { url, probe: `${M}/${name}` };
      },
    },
    { key: 'get /approvals', success: 200, prepare: () => ({ url: `${BASE}/approvals` }) },
    { key: 'get /audit', success: 200, prepare: () => ({ url: `${BASE}/audit` }) },
    { key: 'get /audit/verify', success: 200, prepare: () => ({ url: `${BASE}/audit/verify` }) },
    {
      key: 'get /approvals/{id}',
      success: 200,
      prepare: () => ({ url: `${BASE}/approvals/${shared.approval}` }),
    },
    {
      key: 'post /models/{name}/rollback',
      success: 202,
      prepare: async () => {
        const { name, version } = await freshVersion();
        const id = await requestProduction(t, owner, name, version);
        await call(t, 'post', `${BASE}/approvals/${id}/approve`, decider, {}).expect(200);
        const url = `${M}/${name}/versions/${version}/stage`;
        await call(t, 'post', url, owner, { stage: 'archived' }).expect(200);
        return {
          url: `${M}/${name}/rollback`,
          body: { to_version: version, reason: 'the matrix' },
          probe: `${BASE}/approvals?model=${name}`,
        };
      },
    },
    {
      key: 'get /policies/{stage}',
      success: 200,
      prepare: () => ({ url: `${BASE}/policies/staging` }),
    },
    {
      key: 'put /policies/{stage}',
      success: 200,
      prepare: () => ({
        url: `${BASE}/policies/staging`,
        body: {},
        probe: `${BASE}/policies/staging`,
      }),
    },
    {
      key: 'get /models/{name}/policies/{stage}',
      success: 200,
      prepare: () => ({ url: `${M}/${shared.name}/policies/staging` }),
    },
    {
      key: 'put /models/{name}/policies/{stage}',
      success: 200,
      prepare: async () => {
        const { name } = await freshVersion();
        const url = `${M}/${name}/policies/staging`;
        return { url, body: { gates: [] }, probe: url };
      },
    },
    {
      key: 'delete /models/{name}/policies/{stage}',
      success: 204,
      prepare: async () => {
        const { name } = await freshVersion();
        const url = `${M}/${name}/policies/staging`;
        await call(t, 'put', url, admin, {}).expect(200);
        return { url, probe: url };
      },
    },
    {
      // Last: a successful deletion is undone by the next cell's preparation.
      key: 'delete /policies/{stage}',
      success: 204,
      prepare: async () => {
        await call(t, 'put', `${BASE}/policies/staging`, admin, {}).expect(200);
        return { url: `${BASE}/policies/staging`, probe: `${BASE}/policies/staging` };
      },
    },
    ...(['approve', 'reject', 'cancel'] as const).map((action): Row => ({
      key: `post /approvals/{id}/${action}`,
      success: 200,
      prepare: async () => {
        const id = await freshApproval();
        return {
          url: `${BASE}/approvals/${id}/${action}`,
          body: { comment: `${action} by the matrix` },
          probe: `${BASE}/approvals/${id}`,
        };
      },
    })),
    {
      key: 'post /webhooks',
      success: 201,
      prepare: () => ({ url: `${W}`, body: { url: 'https://ci.example/hooks', events: ['*'] } }),
    },
    { key: 'get /webhooks', success: 200, prepare: () => ({ url: W }) },
    {
      key: 'get /webhooks/{webhook_id}',
      success: 200,
      prepare: async () => ({ url: `${W}/${(await freshWebhook()).webhook_id}` }),
    },
    {
      key: 'patch /webhooks/{webhook_id}',
      success: 200,
      prepare: async () => ({
        url: `${W}/${(await freshWebhook()).webhook_id}`,
        body: { description: 'by the matrix' },
      }),
    },
    {
      key: 'delete /webhooks/{webhook_id}',
      success: 204,
      prepare: async () => ({ url: `${W}/${(await freshWebhook()).webhook_id}` }),
    },
    {
      key: 'post /webhooks/{webhook_id}/rotate-secret',
      success: 200,
      prepare: async () => ({ url: `${W}/${(await freshWebhook()).webhook_id}/rotate-secret` }),
    },
    {
      key: 'post /webhooks/{webhook_id}/test',
      success: 202,
      prepare: async () => ({ url: `${W}/${(await freshWebhook()).webhook_id}/test` }),
    },
    {
      key: 'get /webhooks/{webhook_id}/deliveries',
      success: 200,
      prepare: async () => ({ url: `${W}/${(await freshWebhook()).webhook_id}/deliveries` }),
    },
    {
      key: 'post /webhooks/{webhook_id}/deliveries/{delivery_id}/redeliver',
      success: 202,
      prepare: async () => {
        const { webhook_id, delivery_id } = await freshWebhook();
        return { url: `${W}/${webhook_id}/deliveries/${delivery_id}/redeliver` };
      },
    },
  ];

  it('the matrix has a row for every operation of the OpenAPI document, and no other', () => {
    const documented = operationsOf(spec)
      .map((o) => o.key)
      .sort();
    expect([...new Set(ROWS.map((r) => r.key))].sort()).toEqual(documented);
    expect(Object.keys(ACCESS).sort()).toEqual(documented);
    for (const o of operationsOf(spec)) {
      // The document and the rules agree on which operations need no token.
      expect([o.key, isPublic(o.op)]).toEqual([o.key, ACCESS[o.key] === 'public']);
    }
  });

  it('every cell answers what the role rules say', async () => {
    const table: Record<string, Record<string, number>> = {};
    const wrong: unknown[] = [];
    for (const row of ROWS) {
      const access: Access = ACCESS[row.key];
      const label = row.variant ? `${row.key} (${row.variant})` : row.key;
      table[label] = {};
      let refusedTarget: Target | undefined;
      for (const [caller, token] of Object.entries(callers)) {
        const expected =
          token === undefined
            ? access === 'public'
              ? row.success
              : 401
            : allowed(access, ROLE_SETS[caller])
              ? row.success
              : 403;
        // A refused call changes nothing, so the refused cells of a row share one target.
        let target: Target;
        if (expected < 400) target = await row.prepare();
        else target = refusedTarget ??= await row.prepare();
        const before = target.probe ? await snapshot(target.probe) : undefined;
        let req: request.Test;
        if (target.upload) {
          req = upload(t, '', {});
          if (token === undefined) req = req.unset('Authorization');
          else req = req.set('Authorization', `Bearer ${token}`);
        } else {
          const method = row.key.split(' ')[0];
          req = call(t, method, target.url, token, target.body);
        }
        const res = log.see(`${caller} ${label}`, await req);
        log.attack(CAT);
        table[label][caller] = res.status;
        if (res.status !== expected) {
          wrong.push({ operation: label, caller, expected, got: res.status, body: res.body });
        } else if (expected === 403 && res.body.code !== 'FORBIDDEN') {
          wrong.push({ operation: label, caller, code: res.body.code });
        }
        if (expected >= 400 && before !== undefined) {
          const after = await snapshot(target.probe!);
          if (after !== before) wrong.push({ operation: label, caller, changed: target.probe });
        }
      }
    }
    mkdirSync(RESULTS_DIR, { recursive: true });
    writeFileSync(
      join(RESULTS_DIR, 'function-level-matrix.json'),
      JSON.stringify({ callers: Object.keys(callers), statuses: table }, null, 2) + '\n',
    );
    expect(wrong).toEqual([]);
  });

  it('cancelling: the requester may, another editor may not (object-level rule of the route)', async () => {
    const id = await freshApproval();
    const other = await tokenFor(TENANT, 'someone-else', ['editor', 'approver']);
    const res = log.see(
      'other cancels',
      await call(t, 'post', `${BASE}/approvals/${id}/cancel`, other, {}),
    );
    log.attack(CAT);
    expect(res.status).toBe(403);
    await call(t, 'post', `${BASE}/approvals/${id}/cancel`, owner, {}).expect(200);
  });

  it('four eyes: a requester holding every role cannot decide their own request', async () => {
    const all = await tokenFor(TENANT, 'omnipotent', ['viewer', 'editor', 'approver', 'admin']);
    const { name, version } = await freshVersion();
    const id = await requestProduction(t, all, name, version);
    for (const [action, body] of [
      ['approve', {}],
      ['reject', { comment: 'mine' }],
    ] as const) {
      const res = log.see(
        `self ${action}`,
        await call(t, 'post', `${BASE}/approvals/${id}/${action}`, all, body),
      );
      log.attack(CAT);
      expect([action, res.status, res.body.code]).toEqual([action, 403, 'FOUR_EYES_VIOLATION']);
    }
    const approval = await call(t, 'get', `${BASE}/approvals/${id}`, owner).expect(200);
    expect(approval.body.status).toBe('pending');
  });

  it('no error body leaked internals', () => {
    expect(log.problems([t.dataDir])).toEqual([]);
  });
});
