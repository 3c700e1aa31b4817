import { Injectable } from '@nestjs/common';
import request from 'supertest';
import { RegistryError } from '../src/common/errors/registry-error';
import { Metrics } from '../src/common/metrics/metrics';
import { MetricsServer } from '../src/common/metrics/metrics-server';
import { timedPort } from '../src/common/metrics/timed-port';
import { Database } from '../src/database/database';
import { EmbeddedMlflowRegistry } from '../src/mlflow/embedded/embedded-mlflow-registry';
import { MlflowRegistry } from '../src/mlflow/mlflow-registry';
import { REGISTRY_OPERATIONS } from '../src/mlflow/mlflow.module';
import { Stage } from '../src/mlflow/registry-types';
import { auth, registerVersion } from './support/fixtures';
import { parseExposition, type Exposition } from './support/prometheus';
import { BASE, createTestApp, removeDir, TestApp } from './support/test-app';

const ROUTE = {
  model: `${BASE}/models/:name`,
  models: `${BASE}/models`,
  stage: `${BASE}/models/:name/versions/:version/stage`,
};

async function scrape(t: TestApp): Promise<Exposition> {
  const res = await request(t.http).get('/metrics').expect(200);
  expect(res.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8');
  return parseExposition(res.text);
}

async function eventually(check: () => Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('GET /metrics beside the API (e2e)', () => {
  let t: TestApp;
  let alice: string;
  let viewer: string;

  beforeAll(async () => {
    // A limit of 3 requests a minute: scrapes have no caller, so they are never limited.
    t = await createTestApp({ env: { RATE_LIMIT_PER_MINUTE: '3' } });
    alice = await t.token('alice', ['editor']);
    viewer = await t.token('victor', ['viewer']);
  });

  afterAll(async () => {
    await t.close();
    removeDir(t.dataDir);
  });

  it('answers without a token, in Prometheus text, with the process metrics, however often it is scraped', async () => {
    for (let i = 0; i < 5; i++) await request(t.http).get('/metrics').expect(200);
    const m = await scrape(t);
    expect(m.types.get('process_cpu_user_seconds_total')).toBe('counter');
    expect(m.value('process_resident_memory_bytes')).toBeGreaterThan(0);
    expect(m.types.get('nodejs_heap_size_used_bytes')).toBe('gauge');
    expect(m.types.get('registry_http_requests_total')).toBe('counter');
    expect(m.types.get('registry_http_request_duration_seconds')).toBe('histogram');
    expect(m.types.get('registry_backend_call_duration_seconds')).toBe('histogram');
    expect(m.types.get('registry_cache_lookups_total')).toBe('counter');
    expect(m.types.get('registry_approvals_pending')).toBe('gauge');
    expect(m.types.get('registry_approvals_awaiting_apply')).toBe('gauge');
    // the scrapes themselves are requests like any other
    expect(
      m.value('registry_http_requests_total', { method: 'GET', route: '/metrics', status: '200' }),
    ).toBe(5);
  });

  it('is not under the API prefix, and not in the OpenAPI document', async () => {
    await request(t.http).get(`${BASE}/metrics`).expect(404);
    const spec = (await request(t.http).get('/docs-json').expect(200)).body as {
      paths: Record<string, unknown>;
    };
    expect(Object.keys(spec.paths).filter((p) => p.includes('metrics'))).toEqual([]);
  });

  it('counts requests by route template and status, with their durations', async () => {
    const editor = await t.token('erin', ['editor']); // a bucket of its own: 3 requests
    const before = await scrape(t);
    await registerVersion(t, editor, 'churn-predictor');
    await request(t.http)
      .get(`${BASE}/models/churn-predictor`)
      .set(...auth(viewer))
      .expect(200);
    await request(t.http)
      .get(`${BASE}/models/no-such-model`)
      .set(...auth(viewer))
      .expect(404);
    await request(t.http).get(`${BASE}/models/churn-predictor`).expect(401);
    await request(t.http)
      .get(`${BASE}/nothing/here/${'x'.repeat(10)}`)
      .expect(404);

    const m = await scrape(t);
    const count = (route: string, status: string, method = 'GET') =>
      (m.value('registry_http_requests_total', { method, route, status }) ?? 0) -
      (before.value('registry_http_requests_total', { method, route, status }) ?? 0);
    expect(count(ROUTE.model, '200')).toBe(1);
    expect(count(ROUTE.model, '404')).toBe(1);
    expect(count(ROUTE.model, '401')).toBe(1);
    expect(count(ROUTE.models, '201', 'POST')).toBe(1);
    expect(count(`${BASE}/artifacts`, '201', 'POST')).toBe(1);
    expect(count('unmatched', '404')).toBe(1);
    // never a raw URL: no label value holds a model name or a path that was asked for
    const values = m.samples.flatMap((s) => Object.values(s.labels));
    expect(values.filter((v) => /churn-predictor|no-such-model|nothing/.test(v))).toEqual([]);

    const histogram = { method: 'GET', route: ROUTE.model, status: '200' };
    expect(m.value('registry_http_request_duration_seconds_count', histogram)).toBe(1); // first one
    expect(m.value('registry_http_request_duration_seconds_sum', histogram)).toBeGreaterThan(0);
    expect(
      m.value('registry_http_request_duration_seconds_bucket', { ...histogram, le: '+Inf' }),
    ).toBe(1);
    const buckets = m
      .find('registry_http_request_duration_seconds_bucket', histogram)
      .map((s) => s.value);
    expect(buckets).toEqual([...buckets].sort((a, b) => a - b)); // cumulative
  });

  it('times the backend calls by backend, operation and outcome', async () => {
    const m = await scrape(t);
    const calls = (backend: string, operation: string, outcome = 'ok') =>
      m.value('registry_backend_call_duration_seconds_count', { backend, operation, outcome }) ?? 0;
    expect(calls('embedded-registry', 'createModelVersion')).toBe(1);
    expect(calls('embedded-registry', 'getRegisteredModel', 'error')).toBeGreaterThanOrEqual(1);
    expect(calls('filesystem', 'put')).toBeGreaterThanOrEqual(1);
    expect(calls('filesystem', 'copy')).toBeGreaterThanOrEqual(1);
    expect(calls('database', 'select')).toBeGreaterThan(0);
    expect(calls('database', 'insert')).toBeGreaterThan(0);
    const operations = new Set(
      m.find('registry_backend_call_duration_seconds_count').map((s) => s.labels.operation),
    );
    expect([...operations].every((op) => /^[a-zA-Z]+$/.test(op))).toBe(true);
  });

  it('counts cache misses and hits', async () => {
    await registerVersion(t, alice, 'cached');
    const vera = await t.token('vera', ['viewer']);
    const lookups = (m: Exposition, result: string) =>
      m.value('registry_cache_lookups_total', { scope: 'model', result }) ?? 0;
    const read = () =>
      request(t.http)
        .get(`${BASE}/models/cached/versions/1`)
        .set(...auth(vera))
        .expect(200);
    const before = await scrape(t);
    await read();
    const first = await scrape(t);
    await read();
    const second = await scrape(t);
    expect(lookups(first, 'miss')).toBeGreaterThan(lookups(before, 'miss'));
    expect(lookups(second, 'hit')).toBeGreaterThan(lookups(first, 'hit'));
    expect(lookups(second, 'miss')).toBe(lookups(first, 'miss'));
  });

  it('shows the approval requests waiting for a decision, per tenant', async () => {
    const before = await scrape(t);
    expect(before.value('registry_approvals_pending', { tenant: 'acme-corp' })).toBeUndefined();
    const carol = await t.token('carol', ['editor']);
    await registerVersion(t, carol, 'to-approve');
    const id = (
      await request(t.http)
        .post(`${BASE}/models/to-approve/versions/1/stage`)
        .set(...auth(carol))
        .send({ stage: 'production' })
        .expect(202)
    ).body.approval.id as string;
    const pending = await scrape(t);
    expect(pending.value('registry_approvals_pending', { tenant: 'acme-corp' })).toBe(1);
    expect(
      pending.value('registry_http_requests_total', {
        method: 'POST',
        route: ROUTE.stage,
        status: '202',
      }),
    ).toBe(1);

    const bob = await t.token('bob', ['approver']);
    await request(t.http)
      .post(`${BASE}/approvals/${id}/approve`)
      .set(...auth(bob))
      .expect(200);
    const decided = await scrape(t);
    expect(decided.value('registry_approvals_pending', { tenant: 'acme-corp' })).toBeUndefined();
    expect(decided.value('registry_approvals_awaiting_apply', { tenant: 'acme-corp' })).toBe(
      undefined,
    );
  });
});

/** The embedded backend, with stage transitions that fail while `down` is set. */
@Injectable()
class FlakyRegistry extends EmbeddedMlflowRegistry {
  static down = false;

  override async transitionModelVersionStage(
    tenant: string,
    name: string,
    version: number,
    stage: Stage,
    archive: boolean,
  ) {
    if (FlakyRegistry.down) throw RegistryError.unavailable('the registry backend');
    return super.transitionModelVersionStage(tenant, name, version, stage, archive);
  }
}

describe('GET /metrics while the registry backend is down (e2e)', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp({
      override: (b) =>
        b.overrideProvider(MlflowRegistry).useFactory({
          inject: [Database, Metrics],
          factory: (database: Database, metrics: Metrics) =>
            timedPort<MlflowRegistry>(
              new FlakyRegistry(database),
              metrics,
              'embedded-registry',
              REGISTRY_OPERATIONS,
            ),
        }),
    });
  });

  afterAll(async () => {
    FlakyRegistry.down = false;
    await t.close();
    removeDir(t.dataDir);
  });

  it('shows an approved request waiting to be applied until the backend is back, and the failed calls', async () => {
    const alice = await t.token('alice', ['editor']);
    const bob = await t.token('bob', ['approver']);
    await registerVersion(t, alice, 'churn');
    await registerVersion(t, alice, 'other');
    const id = (
      await request(t.http)
        .post(`${BASE}/models/churn/versions/1/stage`)
        .set(...auth(alice))
        .send({ stage: 'production' })
        .expect(202)
    ).body.approval.id as string;
    await request(t.http)
      .post(`${BASE}/models/other/versions/1/stage`)
      .set(...auth(alice))
      .send({ stage: 'production' })
      .expect(202);

    FlakyRegistry.down = true;
    await request(t.http)
      .post(`${BASE}/approvals/${id}/approve`)
      .set(...auth(bob))
      .expect(202);
    const down = await scrape(t);
    expect(down.value('registry_approvals_awaiting_apply', { tenant: 'acme-corp' })).toBe(1);
    expect(down.value('registry_approvals_pending', { tenant: 'acme-corp' })).toBe(1);
    expect(
      down.value('registry_backend_call_duration_seconds_count', {
        backend: 'embedded-registry',
        operation: 'transitionModelVersionStage',
        outcome: 'unavailable',
      }),
    ).toBeGreaterThanOrEqual(1);

    FlakyRegistry.down = false;
    await eventually(
      async () =>
        (await scrape(t)).value('registry_approvals_awaiting_apply', { tenant: 'acme-corp' }) ===
        undefined,
    );
    const applied = await scrape(t);
    expect(applied.value('registry_approvals_pending', { tenant: 'acme-corp' })).toBe(1);
  });
});

describe('METRICS_PORT (e2e)', () => {
  it('off: /metrics is not served (404), and the API works as before', async () => {
    const t = await createTestApp({ env: { METRICS_PORT: 'off' } });
    try {
      const res = await request(t.http).get('/metrics').expect(404);
      expect(res.body).toMatchObject({ statusCode: 404 });
      await request(t.http).get('/health/live').expect(200);
      expect(() => t.app.get(MetricsServer)).toThrow();
    } finally {
      await t.close();
      removeDir(t.dataDir);
    }
  });

  it('a port: /metrics is served only there, on its own server, and not on the API port', async () => {
    const t = await createTestApp({ env: { METRICS_PORT: '0', HOST: '127.0.0.1' } });
    let url: string | undefined;
    try {
      const port = t.app.get(MetricsServer).port;
      expect(port).toBeGreaterThan(0);
      url = `http://127.0.0.1:${port}`;
      await request(t.http).get('/metrics').expect(404);
      const viewer = await t.token('victor', ['viewer']);
      await request(t.http)
        .get(`${BASE}/models`)
        .set(...auth(viewer))
        .expect(200);

      const res = await fetch(`${url}/metrics`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
      const m = parseExposition(await res.text());
      expect(
        m.value('registry_http_requests_total', {
          method: 'GET',
          route: ROUTE.models,
          status: '200',
        }),
      ).toBe(1);
      expect(
        m.value('registry_http_requests_total', {
          method: 'GET',
          route: 'unmatched',
          status: '404',
        }),
      ).toBe(1);
      expect(m.value('process_resident_memory_bytes')).toBeGreaterThan(0);
      // nothing else there: not the API, not the health checks
      expect((await fetch(`${url}/health/live`)).status).toBe(404);
      expect((await fetch(`${url}${BASE}/models`)).status).toBe(404);
      expect((await fetch(`${url}/metrics`, { method: 'POST' })).status).toBe(404);
    } finally {
      await t.close();
      removeDir(t.dataDir);
    }
    // closed with the app
    await expect(fetch(`${url}/metrics`)).rejects.toThrow();
  });
});
