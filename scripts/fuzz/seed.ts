/*
 * Seeds a running registry so schemathesis reaches past 404s, and mints one token per role.
 *
 *   ts-node --transpile-only scripts/fuzz/seed.ts --url http://127.0.0.1:PORT --out seed.json
 *
 * Needs AUTH_JWT_SECRET (the service's). Writes a JSON document: the tokens of each role and the
 * names and ids that exist (models with their versions, artifacts, approvals), which
 * scripts/fuzz/hooks.py mixes into the generated path parameters.
 */
import { SignJWT } from 'jose';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

const BASE = '/api/v1/ml/registry';
export const FUZZ_TENANT = 'fuzz-tenant';
export const FUZZ_ROLES = ['viewer', 'editor', 'approver', 'admin'] as const;
type Role = (typeof FUZZ_ROLES)[number];

interface SeedResult {
  tenant: string;
  tokens: Record<Role, string>;
  models: { name: string; versions: number[] }[];
  artifacts: string[];
  /** Uploaded, not registered: POST /models can register them (once each). */
  unregistered_artifacts: string[];
  approvals: string[];
}

async function mint(secret: string, sub: string, roles: string[]): Promise<string> {
  return new SignJWT({ tenant_id: FUZZ_TENANT, roles })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(sub)
    .setIssuedAt()
    .setExpirationTime('2h')
    .sign(new TextEncoder().encode(secret));
}

class Client {
  constructor(private readonly url: string) {}

  async call(
    token: string,
    method: string,
    path: string,
    body?: unknown,
    expected: number[] = [200, 201, 202],
  ): Promise<Record<string, unknown>> {
    const isForm = body instanceof FormData;
    const res = await fetch(`${this.url}${BASE}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body !== undefined && !isForm ? { 'content-type': 'application/json' } : {}),
      },
      body: body === undefined ? undefined : isForm ? body : JSON.stringify(body),
    });
    const text = await res.text();
    if (!expected.includes(res.status)) {
      throw new Error(`seed: ${method} ${path} answered ${res.status}: ${text.slice(0, 500)}`);
    }
    return text === '' ? {} : (JSON.parse(text) as Record<string, unknown>);
  }
}

function artifactForm(metrics: Record<string, number>): FormData {
  const form = new FormData();
  form.append('model', new Blob([randomBytes(4096)]), 'model.pkl');
  form.append('metrics', new Blob([JSON.stringify(metrics)]), 'metrics.json');
  form.append(
    'config',
    new Blob([JSON.stringify({ hyperparameters: { n_estimators: 200, max_depth: 8 } })]),
    'config.json',
  );
  form.append('requirements', new Blob(['scikit-learn==1.5.2\nxgboost==2.1.1\n']), 'r.txt');
  form.append('preprocessor', new Blob([randomBytes(512)]), 'preprocessor.pkl');
  return form;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { url: { type: 'string' }, out: { type: 'string' } },
  });
  const secret = process.env.AUTH_JWT_SECRET;
  if (!values.url || !values.out || !secret) {
    throw new Error('usage: AUTH_JWT_SECRET=... seed.ts --url http://127.0.0.1:PORT --out FILE');
  }
  const api = new Client(values.url);
  const tokens = {} as Record<Role, string>;
  for (const role of FUZZ_ROLES) tokens[role] = await mint(secret, `fuzz-${role}`, [role]);
  // A second editor asks for the production transitions, so that the fuzzed approver and
  // admin (not the requester: four eyes) can decide them, and the fuzzed editor can cancel
  // its own.
  const requester = await mint(secret, 'fuzz-requester', ['editor']);

  const result: SeedResult = {
    tenant: FUZZ_TENANT,
    tokens,
    models: [],
    artifacts: [],
    unregistered_artifacts: [],
    approvals: [],
  };
  const plan: Record<string, number> = {
    'churn-predictor': 3,
    'fraud-detector': 2,
    'ltv-model': 2,
  };
  for (const [name, count] of Object.entries(plan)) {
    const versions: number[] = [];
    for (let i = 0; i < count; i += 1) {
      const manifest = await api.call(
        tokens.editor,
        'POST',
        '/artifacts',
        artifactForm({ f1_score: 0.85 + i / 100, auc_roc: 0.9 + i / 200, log_loss: 0.3 - i / 100 }),
      );
      const artifactId = String(manifest.artifact_id);
      result.artifacts.push(artifactId);
      const version = await api.call(tokens.editor, 'POST', '/models', {
        name,
        artifact_id: artifactId,
        description: `${name} v${i + 1}`,
        tags: { team: 'fuzz' },
      });
      versions.push(Number(version.version));
    }
    result.models.push({ name, versions });
  }
  // Artifacts left unregistered: registering one is a 201 the fuzzer can reach.
  for (let i = 0; i < 12; i += 1) {
    const manifest = await api.call(tokens.editor, 'POST', '/artifacts', artifactForm({ f1: 0.5 }));
    result.artifacts.push(String(manifest.artifact_id));
    result.unregistered_artifacts.push(String(manifest.artifact_id));
  }
  // Stages: churn v1 staging; pending production requests on churn v2, v3, fraud v1, ltv v1
  // (the editor's own: cancellable by it), one rejected request on fraud v2.
  await api.call(tokens.editor, 'POST', '/models/churn-predictor/versions/1/stage', {
    stage: 'staging',
    comment: 'seed',
  });
  const ask = async (token: string, name: string, version: number): Promise<string> => {
    const res = await api.call(token, 'POST', `/models/${name}/versions/${version}/stage`, {
      stage: 'production',
      comment: 'seed',
    });
    return String((res.approval as { id: string }).id);
  };
  result.approvals.push(await ask(requester, 'churn-predictor', 2));
  result.approvals.push(await ask(requester, 'churn-predictor', 3));
  result.approvals.push(await ask(requester, 'fraud-detector', 1));
  result.approvals.push(await ask(tokens.editor, 'ltv-model', 1));
  const rejected = await ask(requester, 'fraud-detector', 2);
  await api.call(tokens.approver, 'POST', `/approvals/${rejected}/reject`, { comment: 'seed' });
  result.approvals.push(rejected);

  writeFileSync(values.out, JSON.stringify(result, null, 2));
  console.log(
    `seeded ${result.models.length} models, ${result.artifacts.length} artifacts, ` +
      `${result.approvals.length} approvals in tenant ${FUZZ_TENANT}`,
  );
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
