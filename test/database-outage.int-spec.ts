import { Client } from 'pg';
import request from 'supertest';
import { POSTGRES_POOL } from '../src/database/postgres';
import { auth, registerVersion } from './support/fixtures';
import { proxiedDatabase } from './support/stack';
import type { TcpProxy } from './support/tcp-proxy';
import { timed } from './support/timed';
import { BASE, createTestApp, removeDir, TestApp } from './support/test-app';

// The database adapter's own behaviour at boot (waiting, migrating once) is
// src/database/database.int-spec.ts.

const env = (databaseUrl: string) => ({ DATABASE_URL: databaseUrl, ML_REGISTRY_CACHE_TTL: '0' });

describe('the service database on PostgreSQL, when it fails', () => {
  let databaseUrl: string;
  let proxy: TcpProxy;

  beforeAll(async () => {
    ({ databaseUrl, proxy } = await proxiedDatabase('outage'));
  });

  afterAll(async () => {
    await proxy.down();
  });

  describe('at runtime', () => {
    let t: TestApp;
    let editor: string;

    beforeAll(async () => {
      await proxy.up();
      t = await createTestApp({ env: env(proxy.through(databaseUrl)) });
      editor = await t.token('alice', ['editor']);
      await registerVersion(t, editor, 'churn');
    });

    afterAll(async () => {
      await proxy.up();
      await t.close();
      removeDir(t.dataDir);
    });

    const list = () =>
      request(t.http)
        .get(`${BASE}/models`)
        .set(...auth(editor));

    it('answers 503 with Retry-After while the server is down, and serves again once it is back', async () => {
      await list().expect(200);
      await proxy.down();
      try {
        for (let i = 0; i < 3; i++) {
          const { value: res, ms } = await timed(list());
          expect(res.status).toBe(503);
          expect(res.headers['retry-after']).toBeDefined();
          expect(res.body).toMatchObject({
            code: 'BACKEND_UNAVAILABLE',
            message: expect.stringMatching(/database/) as unknown,
          });
          expect(ms).toBeLessThan(2_000);
        }
        const write = await request(t.http)
          .patch(`${BASE}/models/churn`)
          .set(...auth(editor))
          .send({ description: 'while down' });
        expect(write.status).toBe(503);
        const ready = await request(t.http).get('/health/ready');
        expect(ready.status).toBe(503);
        expect(ready.body).toMatchObject({ checks: { database: { status: 'down' } } });
      } finally {
        await proxy.up();
      }
      // The pool opens new connections: no restart.
      const res = await list().expect(200);
      expect(res.body).toMatchObject({ models: [{ name: 'churn' }] });
      await request(t.http).get('/health/ready').expect(200);
    });

    it('answers 503 within the timeouts when the network drops everything, then recovers', async () => {
      await list().expect(200);
      proxy.blackholed = true;
      try {
        const { value: res, ms } = await timed(list());
        expect(res.status).toBe(503);
        expect(res.headers['retry-after']).toBeDefined();
        // an idle pooled connection waits for query_timeout, a new one for connectionTimeout
        expect(ms).toBeLessThan(
          Math.max(POSTGRES_POOL.queryTimeoutMs, POSTGRES_POOL.connectionTimeoutMillis) + 1_500,
        );
      } finally {
        await proxy.down(); // the dead connections go; the next ones are new
        await proxy.up();
      }
      await list().expect(200);
    }, 60_000);
  });

  describe('statements', () => {
    let t: TestApp;
    let editor: string;

    beforeAll(async () => {
      t = await createTestApp({ env: env(databaseUrl) });
      editor = await t.token('alice', ['editor']);
      await registerVersion(t, editor, 'locked');
    });

    afterAll(async () => {
      await t.close();
      removeDir(t.dataDir);
    });

    it('a statement that waits too long (a row lock held elsewhere) is a 503, not a hang', async () => {
      const holder = new Client({ connectionString: databaseUrl });
      await holder.connect();
      try {
        await holder.query('BEGIN');
        await holder.query(`SELECT * FROM reg_models WHERE name = 'locked' FOR UPDATE`);
        const { value: res, ms } = await timed(
          request(t.http)
            .patch(`${BASE}/models/locked`)
            .set(...auth(editor))
            .send({ description: 'waits for the lock' }),
        );
        expect(res.status).toBe(503);
        expect(res.headers['retry-after']).toBeDefined();
        expect(ms).toBeGreaterThanOrEqual(POSTGRES_POOL.statementTimeoutMs - 100);
        expect(ms).toBeLessThan(POSTGRES_POOL.statementTimeoutMs + 2_000);
      } finally {
        await holder.query('ROLLBACK');
        await holder.end();
      }
      await request(t.http)
        .patch(`${BASE}/models/locked`)
        .set(...auth(editor))
        .send({ description: 'now' })
        .expect(200);
    }, 20_000);

    it('text PostgreSQL cannot store (NUL) is a 400 naming the reason, not a 500', async () => {
      const res = await request(t.http)
        .patch(`${BASE}/models/locked`)
        .set(...auth(editor))
        .send({ description: 'a\u0000b' });
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({
        code: 'VALIDATION_FAILED',
        message: expect.stringMatching(/NUL/) as unknown,
      });
    });
  });
});
