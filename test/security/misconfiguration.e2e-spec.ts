/**
 * OWASP API8:2023 Security Misconfiguration, the error side: no stack trace, file path, SQL,
 * class name or backend name in any error body. Every operation of the OpenAPI document is
 * called on apps whose registry, storage and history backends are replaced by ones that fail
 * with the most revealing errors they can (forced 500s), and hostile input is sent to a healthy
 * app. Every error body must have the documented shape; a 500 carries a request id and nothing
 * else. (Each suite of test/security also checks every error body it received.)
 * Security headers and CORS are tested with the HTTP layer.
 */
import request from 'supertest';
import { HistoryRepository } from '../../src/audit/history.repository';
import { Database } from '../../src/database/database';
import { MlflowRegistry } from '../../src/mlflow/mlflow-registry';
import { ObjectStorage } from '../../src/storage/object-storage';
import { upload } from '../support/fixtures';
import {
  call,
  fillPath,
  loadSpec,
  Operation,
  operationsOf,
  REQUIRED_QUERY,
  SecurityLog,
  serve,
  VALID_BODIES,
  withQuery,
} from '../support/security-harness';
import { newVersion, newWebhook, requestProduction, tokenFor } from '../support/security-fixtures';
import { BASE, createTestApp, removeDir, TestApp, TestAppOptions } from '../support/test-app';

jest.setTimeout(60_000);

const CAT = 'API8 misconfiguration';
const TENANT = 'mc-t';
/** Strings the failing backends put in their errors; none may reach a client. */
const SECRETS = [
  'reg_models',
  'sekrit-internal-host.corp',
  'hunter2',
  'SQLITE_CONSTRAINT',
  'EmbeddedMlflowRegistry',
  '/opt/registry/dist/src',
];

const LIFECYCLE = new Set([
  'then',
  'constructor',
  'onModuleInit',
  'onApplicationBootstrap',
  'onModuleDestroy',
  'beforeApplicationShutdown',
  'onApplicationShutdown',
  'toJSON',
  'inspect',
  'asymmetricMatch',
  '$$typeof',
]);

function leakyErrors(): unknown[] {
  const sql = new Error(
    'SQLITE_CONSTRAINT: UNIQUE constraint failed: reg_models.name; SELECT * FROM reg_models WHERE tenant_id = ? ' +
      'at EmbeddedMlflowRegistry.create (/opt/registry/dist/src/mlflow/embedded.js:120:11)',
  );
  const typeError = new TypeError("Cannot read properties of undefined (reading 'hunter2')");
  const axiosLike = Object.assign(
    new Error('connect ECONNREFUSED sekrit-internal-host.corp:5000'),
    {
      code: 'ECONNREFUSED',
      config: { url: 'http://sekrit-internal-host.corp:5000/api/2.0/mlflow/registered-models/get' },
      response: {
        status: 500,
        data: { message: 'psycopg2.errors: relation reg_models does not exist' },
      },
    },
  );
  const pgLike = Object.assign(
    new Error('duplicate key value violates unique constraint "reg_models_pkey"'),
    {
      code: '23505',
      detail: 'Key (name)=(hunter2) already exists.',
      table: 'reg_models',
    },
  );
  return [sql, typeError, axiosLike, pgLike, 'SELECT password FROM reg_models -- hunter2'];
}

/** A backend whose every call fails with a revealing error (in turn, from `leakyErrors`). */
function leakyBackend<T>(): T {
  const errors = leakyErrors();
  let n = 0;
  return new Proxy(
    {},
    {
      get: (_target, prop) => {
        if (typeof prop === 'symbol' || LIFECYCLE.has(prop)) return undefined;
        return () => {
          n += 1;
          throw errors[n % errors.length];
        };
      },
    },
  ) as T;
}

describe('OWASP API8: no internals in any error (e2e)', () => {
  const log = new SecurityLog('api8-misconfiguration');
  let healthy: TestApp;
  let operations: Operation[];
  let editor: string;
  let approver: string;
  let admin: string;
  let ids: Record<string, string | number>;

  beforeAll(async () => {
    healthy = await serve(await createTestApp());
    operations = operationsOf(await loadSpec(healthy));
    editor = await tokenFor(TENANT, 'alice', ['editor']);
    approver = await tokenFor(TENANT, 'bob', ['approver']);
    admin = await tokenFor(TENANT, 'root', ['admin']);
  });

  afterAll(async () => {
    log.write();
    await healthy.close();
    removeDir(healthy.dataDir);
  });

  /** Fixtures made on the healthy app, so the broken apps (same DATA_DIR) find real objects. */
  async function seed(t: TestApp): Promise<Record<string, string | number>> {
    await newVersion(t, editor, 'mc-model');
    await newVersion(t, editor, 'mc-model');
    const up = await upload(t, editor).expect(201);
    return {
      name: 'mc-model',
      version: 1,
      id: await requestProduction(t, editor, 'mc-model', 2),
      artifact_id: up.body.artifact_id as string,
      file: 'model.pkl',
      alias: 'challenger',
      ...(await newWebhook(t, admin)),
    };
  }

  /** Calls every operation, as the role that may, on `t`; returns how many answered 500. */
  async function everyOperation(t: TestApp, label: string): Promise<number> {
    let internal = 0;
    for (const o of operations) {
      const url = withQuery(fillPath(o.path, ids), REQUIRED_QUERY[o.key]);
      const token = o.key.includes('/approve') || o.key.includes('/reject') ? approver : admin;
      const res =
        o.key === 'post /artifacts'
          ? await upload(t, editor, { metrics: { f1: 1 } })
          : await call(
              t,
              o.method,
              url,
              token,
              o.key === 'post /models'
                ? { name: 'mc-new', artifact_id: ids['artifact_id'] }
                : VALID_BODIES[o.key],
            );
      log.see(`${label} ${o.key}`, res, { shape: !o.key.startsWith('get /health') });
      log.attack(CAT);
      if (res.status === 500) {
        internal += 1;
        expect(Object.keys(res.body).sort()).toEqual([
          'code',
          'error',
          'message',
          'request_id',
          'statusCode',
        ]);
        expect(res.body.code).toBe('INTERNAL_ERROR');
        expect(res.body.message).toContain(res.body.request_id);
        expect(res.headers['x-request-id']).toBe(res.body.request_id);
      }
      for (const secret of SECRETS) {
        expect([label, o.key, (res.text ?? '').includes(secret)]).toEqual([label, o.key, false]);
      }
    }
    return internal;
  }

  async function broken(override: TestAppOptions['override']): Promise<TestApp> {
    return serve(await createTestApp({ dataDir: healthy.dataDir, override }));
  }

  it('a registry backend failing with revealing errors: 500s that reveal nothing', async () => {
    ids ??= await seed(healthy);
    const t = await broken((b) => b.overrideProvider(MlflowRegistry).useValue(leakyBackend()));
    try {
      expect(await everyOperation(t, 'registry broken')).toBeGreaterThanOrEqual(8);
    } finally {
      await t.close();
    }
  });

  it('storage and history backends failing with revealing errors: 500s that reveal nothing', async () => {
    ids ??= await seed(healthy);
    const t = await broken((b) =>
      b
        .overrideProvider(ObjectStorage)
        .useValue(leakyBackend())
        .overrideProvider(HistoryRepository)
        .useValue(leakyBackend()),
    );
    try {
      expect(await everyOperation(t, 'storage+history broken')).toBeGreaterThanOrEqual(3);
    } finally {
      await t.close();
    }
  });

  it('hostile input to a healthy app: every error has the documented shape, nothing internal', async () => {
    const t = healthy;
    ids ??= await seed(t);
    const raw = (method: string, path: string): request.Test =>
      request(t.http)[method as 'get'](path).set('Authorization', `Bearer ${admin}`);
    const attempts: [string, () => request.Test][] = [
      [
        'malformed JSON',
        () =>
          raw('patch', `${BASE}/models/mc-model`)
            .set('Content-Type', 'application/json')
            .send('{"description": '),
      ],
      [
        'JSON with a trailing comma',
        () =>
          raw('patch', `${BASE}/models/mc-model`)
            .set('Content-Type', 'application/json')
            .send('{"a":1,}'),
      ],
      ['JSON array body', () => raw('patch', `${BASE}/models/mc-model`).send([1, 2])],
      [
        'JSON string body',
        () =>
          raw('patch', `${BASE}/models/mc-model`)
            .set('Content-Type', 'application/json')
            .send('"x"'),
      ],
      [
        'JSON null body',
        () => raw('post', `${BASE}/models`).set('Content-Type', 'application/json').send('null'),
      ],
      [
        'XML body',
        () => raw('post', `${BASE}/models`).set('Content-Type', 'application/xml').send('<a/>'),
      ],
      ['form body', () => raw('post', `${BASE}/models`).type('form').send('name=x')],
      [
        'text body',
        () => raw('patch', `${BASE}/models/mc-model`).set('Content-Type', 'text/plain').send('hi'),
      ],
      [
        'unknown charset',
        () =>
          raw('patch', `${BASE}/models/mc-model`)
            .set('Content-Type', 'application/json; charset=utf-99')
            .send('{"a":1}'),
      ],
      [
        'upload not multipart',
        () => raw('post', `${BASE}/artifacts`).set('Content-Type', 'application/json').send('{}'),
      ],
      [
        'multipart without boundary',
        () => raw('post', `${BASE}/artifacts`).set('Content-Type', 'multipart/form-data').send('x'),
      ],
      [
        'multipart cut short',
        () =>
          raw('post', `${BASE}/artifacts`)
            .set('Content-Type', 'multipart/form-data; boundary=zz')
            .send(
              '--zz\r\nContent-Disposition: form-data; name="model"; filename="m.pkl"\r\n\r\nabc',
            ),
      ],
      ['bad %-escape in path', () => raw('get', `${BASE}/models/%E0%A4%A`)],
      ['%00 in path', () => raw('get', `${BASE}/models/a%00b`)],
      ['traversal in path', () => raw('get', `${BASE}/models/..%2F..%2Fetc%2Fpasswd`)],
      [
        'traversal in file',
        () => raw('get', `${BASE}/artifacts/${ids['artifact_id']}/files/..%2F..%2Fregistry.db`),
      ],
      [
        'traversal in artifact id',
        () => raw('get', `${BASE}/artifacts/..%2F..%2F..%2Fetc/files/model.pkl`),
      ],
      ['SQL in name', () => raw('get', `${BASE}/models/x'%20OR%201=1--`)],
      ['SQL in query', () => raw('get', `${BASE}/approvals?model=x'%20OR%201=1--`)],
      ['SQL in status', () => raw('get', `${BASE}/approvals?status=pending'%20OR%20'1'='1`)],
      ['SQL in stage filter', () => raw('get', `${BASE}/models/mc-model/versions?stage=none'--`)],
      ['SQL in version', () => raw('get', `${BASE}/models/mc-model/versions/1%20OR%201=1`)],
      ['SQL in approval id', () => raw('get', `${BASE}/approvals/1'%20OR%20'1'='1`)],
      ['unknown route', () => raw('get', `${BASE}/internal/debug`)],
      ['unknown route outside the API', () => raw('get', '/server-status')],
      ['unknown method on a route', () => raw('put', `${BASE}/models/mc-model`)],
      ['DELETE on the collection', () => raw('delete', `${BASE}/models`)],
      ['version zero', () => raw('get', `${BASE}/models/mc-model/versions/0`)],
      ['version negative', () => raw('get', `${BASE}/models/mc-model/versions/-1`)],
      ['version a float', () => raw('get', `${BASE}/models/mc-model/versions/1.5`)],
      ['unicode name', () => raw('get', `${BASE}/models/${encodeURIComponent('modèle-☃')}`)],
      ['very long URL', () => raw('get', `${BASE}/models/${'a'.repeat(7000)}`)],
      ['unknown query parameter', () => raw('get', `${BASE}/models?debug=true`)],
      ['query parameter as array', () => raw('get', `${BASE}/models?max_results=1&max_results=2`)],
      ['query parameter as object', () => raw('get', `${BASE}/approvals?status[$ne]=x`)],
      [
        'stage not a stage',
        () =>
          raw('post', `${BASE}/models/mc-model/versions/1/stage`).send({
            stage: 'Production; DROP TABLE history',
          }),
      ],
      [
        'stage an object',
        () => raw('post', `${BASE}/models/mc-model/versions/1/stage`).send({ stage: { $gt: '' } }),
      ],
      [
        'metrics NaN-like',
        () =>
          raw('post', `${BASE}/models`)
            .set('Content-Type', 'application/json')
            .send('{"name":"x","artifact_id":"model-abcdef1","metrics":{"a":NaN}}'),
      ],
      [
        'huge number',
        () =>
          raw('post', `${BASE}/models`)
            .set('Content-Type', 'application/json')
            .send('{"name":"x","artifact_id":"model-abcdef1","metrics":{"a":1e999}}'),
      ],
    ];
    const unexpected: unknown[] = [];
    for (const [name, make] of attempts) {
      const res = log.see(`hostile ${name}`, await make());
      log.attack(CAT);
      if (res.status < 400 || res.status >= 500) {
        unexpected.push({ name, status: res.status, body: res.body });
      }
    }
    expect(unexpected).toEqual([]);
    // SQL-looking text is data: stored and returned as sent, nothing else happens.
    const evil = '\'; DROP TABLE history; -- " OR 1=1';
    // (mc-model may be gone: the broken apps above ran DELETE on it.)
    await newVersion(t, editor, 'mc-sql');
    await call(t, 'patch', `${BASE}/models/mc-sql`, editor, {
      description: evil,
      tags: { note: evil },
    }).expect(200);
    log.attack(CAT);
    const m = await call(t, 'get', `${BASE}/models/mc-sql`, editor).expect(200);
    expect([m.body.description, m.body.tags.note]).toEqual([evil, evil]);
    const db = t.app.get(Database).db;
    expect((await db.selectFrom('history').select('id').execute()).length).toBeGreaterThan(0);
  });

  it('a body whose Content-Encoding does not match its bytes is a 400, not a 500', async () => {
    const failures: unknown[] = [];
    for (const encoding of ['gzip', 'deflate', 'br']) {
      const res = log.see(
        `Content-Encoding ${encoding} on plain JSON`,
        await request(healthy.http)
          .patch(`${BASE}/models/mc-sql`)
          .set('Authorization', `Bearer ${admin}`)
          .set('Content-Type', 'application/json')
          .set('Content-Encoding', encoding)
          .send('{"description":"not compressed"}'),
      );
      log.attack(CAT);
      if (res.status !== 400) failures.push({ encoding, status: res.status, code: res.body.code });
    }
    expect(failures).toEqual([]);
  });

  it('no error body of this suite leaked internals, and each has the documented shape', () => {
    expect(log.errors.length).toBeGreaterThanOrEqual(60);
    expect(log.problems([healthy.dataDir, ...SECRETS])).toEqual([]);
  });
});
