/**
 * OWASP API4:2023 Unrestricted Resource Consumption: JSON bodies over MAX_JSON_BODY_BYTES and
 * upload parts over ARTIFACT_MAX_FILE_BYTES / ARTIFACT_MAX_METADATA_BYTES are 413 and leave
 * nothing stored; page sizes above 1000 are 400; forged page tokens are 400 (or, when they
 * decode, stay inside the caller's tenant); oversized strings, maps, lists and nesting are 400.
 * (Per-user rate limits, 429 + Retry-After, are tested with the rate limiter itself.)
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import request from 'supertest';
import { Database } from '../../src/database/database';
import { upload } from '../support/fixtures';
import {
  call,
  fillPath,
  hasJsonBody,
  loadSpec,
  OpenApiDocument,
  operationsOf,
  SecurityLog,
  serve,
  VALID_BODIES,
} from '../support/security-harness';
import { newVersion, newWebhook, requestProduction, tokenFor } from '../support/security-fixtures';
import { BASE, createTestApp, removeDir, TestApp } from '../support/test-app';

jest.setTimeout(60_000);

const CAT = 'API4 resource consumption';
const TENANT = 'rc-t';
const JSON_LIMIT = 16 * 1024;
const FILE_LIMIT = 64 * 1024;
const METADATA_LIMIT = 4096;

function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? filesUnder(p) : [p];
  });
}

describe('OWASP API4: resource consumption (e2e)', () => {
  const log = new SecurityLog('api4-resource-consumption');
  let t: TestApp;
  let spec: OpenApiDocument;
  let editor: string;
  let admin: string;
  let ids: Record<string, string | number>;

  beforeAll(async () => {
    t = await serve(
      await createTestApp({
        env: {
          MAX_JSON_BODY_BYTES: String(JSON_LIMIT),
          ARTIFACT_MAX_FILE_BYTES: String(FILE_LIMIT),
          ARTIFACT_MAX_METADATA_BYTES: String(METADATA_LIMIT),
        },
      }),
    );
    spec = await loadSpec(t);
    editor = await tokenFor(TENANT, 'alice', ['editor']);
    admin = await tokenFor(TENANT, 'root', ['admin']);
    await newVersion(t, editor, 'rc-model');
    await newVersion(t, editor, 'rc-model');
    ids = {
      name: 'rc-model',
      version: 1,
      id: await requestProduction(t, editor, 'rc-model', 2),
      alias: 'challenger',
      ...(await newWebhook(t, admin)),
    };
  });

  afterAll(async () => {
    log.write();
    await t.close();
    removeDir(t.dataDir);
  });

  /** The tenant's stored artifact rows and files. */
  async function stored(): Promise<{ rows: number; files: string[] }> {
    const db = t.app.get(Database).db;
    const rows = await db
      .selectFrom('artifacts')
      .select('id')
      .where('tenant_id', '=', TENANT)
      .execute();
    return { rows: rows.length, files: filesUnder(join(t.dataDir, 'artifacts')).sort() };
  }

  it('a JSON body over MAX_JSON_BODY_BYTES is 413 on every operation that takes one', async () => {
    const withBody = operationsOf(spec).filter((o) => hasJsonBody(o.op));
    expect(withBody.length).toBeGreaterThanOrEqual(7);
    const big = 'x'.repeat(JSON_LIMIT + 100);
    for (const o of withBody) {
      const url = fillPath(o.path, ids);
      for (const [how, body] of [
        ['padded field', { ...VALID_BODIES[o.key], description: big }],
        [
          'many keys',
          Object.fromEntries(Array.from({ length: JSON_LIMIT / 6 }, (_, i) => [`k${i}`, i])),
        ],
      ] as const) {
        const res = log.see(`${o.key} ${how}`, await call(t, o.method, url, admin, body));
        log.attack(CAT);
        expect([o.key, how, res.status, res.body.code]).toEqual([
          o.key,
          how,
          413,
          'PAYLOAD_TOO_LARGE',
        ]);
      }
      // Chunked, without a Content-Length: the limit still holds.
      const res = log.see(
        `${o.key} chunked`,
        await new Promise<request.Response>((resolve, reject) => {
          const r = request(t.http)
            [o.method as 'post'](url)
            .set('Authorization', `Bearer ${admin}`)
            .set('Content-Type', 'application/json');
          r.write(`{"description": "${'y'.repeat(JSON_LIMIT)}`);
          r.write('"}');
          r.end((err: Error | null, response) => (err ? reject(err) : resolve(response)));
        }),
      );
      log.attack(CAT);
      expect([o.key, 'chunked', res.status]).toEqual([o.key, 'chunked', 413]);
    }
    // Under the limit, the same bodies are read (the control).
    await call(t, 'patch', `${BASE}/models/rc-model`, editor, {
      description: 'x'.repeat(4000),
      tags: { a: 'v'.repeat(5000), b: 'w'.repeat(5000) },
    }).expect(200);
  });

  it('an oversized body from a caller without a token is 401 (authentication comes first)', async () => {
    const res = log.see(
      'big body without token',
      await call(t, 'post', `${BASE}/models`, undefined, {
        description: 'x'.repeat(JSON_LIMIT * 4),
      }),
    );
    log.attack(CAT);
    expect(res.status).toBe(401);
  });

  it('an upload part over its limit is 413 and leaves nothing stored', async () => {
    const before = await stored();
    const cases: [string, Parameters<typeof upload>[2]][] = [
      ['model over the file limit', { model: Buffer.alloc(FILE_LIMIT + 1, 1) }],
      ['model far over the file limit', { model: Buffer.alloc(FILE_LIMIT * 8, 2) }],
      ['preprocessor over the file limit', { preprocessor: Buffer.alloc(FILE_LIMIT + 1, 3) }],
      [
        'metrics over the metadata limit',
        {
          metrics: Object.fromEntries(Array.from({ length: 400 }, (_, i) => [`m${i}`, i / 7])),
        },
      ],
      ['config over the metadata limit', { config: { notes: 'c'.repeat(METADATA_LIMIT) } }],
      ['requirements over the metadata limit', { requirements: 'numpy==1.0\n'.repeat(500) }],
    ];
    for (const [name, parts] of cases) {
      const res = log.see(`upload ${name}`, await upload(t, editor, parts));
      log.attack(CAT);
      expect([name, res.status, res.body.code]).toEqual([name, 413, 'PAYLOAD_TOO_LARGE']);
    }
    expect(await stored()).toEqual(before);
    // At the limit exactly, it is stored (the control).
    await upload(t, editor, { model: Buffer.alloc(FILE_LIMIT, 4) }).expect(201);
    const after = await stored();
    expect(after.rows).toBe(before.rows + 1);
    expect(after.files.length).toBeGreaterThan(before.files.length);
  });

  it('an upload with repeated or unknown parts is refused and leaves nothing stored', async () => {
    const before = await stored();
    const attempts: [string, () => request.Test][] = [
      ['model twice', () => upload(t, editor).attach('model', Buffer.alloc(10, 1), 'model.pkl')],
      [
        'metrics twice',
        () =>
          upload(t, editor, { metrics: { a: 1 } }).attach(
            'metrics',
            Buffer.from('{"b":2}'),
            'metrics.json',
          ),
      ],
      ['unknown part', () => upload(t, editor).attach('extra', Buffer.alloc(10), 'extra.bin')],
      [
        '50 unknown fields',
        () => {
          let r = upload(t, editor);
          for (let i = 0; i < 50; i++) r = r.field(`f${i}`, 'v');
          return r;
        },
      ],
    ];
    for (const [name, make] of attempts) {
      const res = log.see(`upload ${name}`, await make());
      log.attack(CAT);
      expect([name, res.status]).toEqual([name, 400]);
    }
    expect(await stored()).toEqual(before);
  });

  it('max_results above 1000 (or not a page size) is 400; 1000 is served', async () => {
    for (const path of ['/models', '/approvals']) {
      await call(t, 'get', `${BASE}${path}?max_results=1000`, editor).expect(200);
      for (const value of [
        '1001',
        '100000',
        '99999999999999999999',
        '0',
        '-1',
        '1.5',
        '1e3',
        'abc',
        '',
        '0x10',
      ]) {
        const res = log.see(
          `${path} max_results=${value}`,
          await call(t, 'get', `${BASE}${path}?max_results=${value}`, editor),
        );
        log.attack(CAT);
        expect([path, value, res.status]).toEqual([path, value, 400]);
      }
    }
  });

  it('a forged page token is 400; one that decodes stays inside the caller tenant', async () => {
    const other = await tokenFor('rc-other', 'olga', ['editor']);
    await newVersion(t, other, 'aaa-other-tenant');
    const forged = [
      'garbage',
      '%%%',
      'x'.repeat(2049),
      Buffer.from('{"x":1}').toString('base64url'),
      Buffer.from('{"after":5}').toString('base64url'),
      Buffer.from('{"at":"x","id":1}').toString('base64url'),
      Buffer.from('[]').toString('base64url'),
      Buffer.from('null').toString('base64url'),
      Buffer.from('{"after":"a"}').toString('base64url'),
      Buffer.from('{"v":1,"l":null,"o":"name","n":"a","t":-1}').toString('base64url'),
    ];
    for (const path of ['/models', '/approvals']) {
      for (const token of forged) {
        const res = log.see(
          `${path} page_token=${token.slice(0, 20)}`,
          await call(t, 'get', `${BASE}${path}?page_token=${encodeURIComponent(token)}`, editor),
        );
        log.attack(CAT);
        expect([path, token.slice(0, 20), res.status]).toEqual([path, token.slice(0, 20), 400]);
      }
    }
    // Tokens that decode to a position: still only the caller's tenant.
    for (const token of [
      Buffer.from('{"v":1,"l":null,"o":"name","n":"","t":0}').toString('base64url'),
      Buffer.from('{"v":1,"l":null,"o":"name","n":"a","t":0}').toString('base64url'),
    ]) {
      const res = await call(t, 'get', `${BASE}/models?page_token=${token}`, editor).expect(200);
      log.attack(CAT);
      expect(res.body.models.map((m: { name: string }) => m.name)).toEqual(['rc-model']);
    }
    const approvals = await call(
      t,
      'get',
      `${BASE}/approvals?page_token=${Buffer.from('{"at":99999999999999,"id":"z"}').toString('base64url')}`,
      other,
    ).expect(200);
    log.attack(CAT);
    expect(approvals.body.approvals).toEqual([]);
  });

  it('oversized names, strings, maps, lists and nesting are 400', async () => {
    const M = `${BASE}/models/rc-model`;
    const deep = (n: number): unknown => (n === 0 ? 'x' : { a: deep(n - 1) });
    const cases: [string, string, string, unknown][] = [
      ['name of 129 characters', 'get', `${BASE}/models/${'n'.repeat(129)}`, undefined],
      ['version beyond int32', 'get', `${M}/versions/2147483648`, undefined],
      ['version of 20 digits', 'get', `${M}/versions/99999999999999999999`, undefined],
      ['compare 11 versions', 'get', `${M}/compare?versions=1,2,3,4,5,6,7,8,9,10,11`, undefined],
      [
        'compare 500 versions',
        'get',
        `${M}/compare?versions=${Array.from({ length: 500 }, (_, i) => i + 1).join(',')}`,
        undefined,
      ],
      [
        'tenant_id of 65 characters',
        'get',
        `${BASE}/models?tenant_id=${'t'.repeat(65)}`,
        undefined,
      ],
      ['description of 5001', 'patch', M, { description: 'd'.repeat(5001) }],
      ['tag value of 5001', 'patch', M, { tags: { k: 'v'.repeat(5001) } }],
      ['tag key of 251', 'patch', M, { tags: { ['k'.repeat(251)]: 'v' } }],
      [
        '101 tags',
        'patch',
        M,
        { tags: Object.fromEntries(Array.from({ length: 101 }, (_, i) => [`t${i}`, 'v'])) },
      ],
      [
        'comment of 5001',
        'post',
        `${M}/versions/1/stage`,
        { stage: 'staging', comment: 'c'.repeat(5001) },
      ],
      ['nested 40 deep', 'patch', M, { tags: deep(40) }],
      ['array of 1000 as tags', 'patch', M, { tags: Array.from({ length: 1000 }, () => 'x') }],
    ];
    for (const [name, method, url, body] of cases) {
      const res = log.see(`limit ${name}`, await call(t, method, url, admin, body));
      log.attack(CAT);
      expect([name, res.status]).toEqual([name, 400]);
    }
  });

  it('no error body leaked internals', () => {
    expect(log.problems([t.dataDir])).toEqual([]);
  });
});
