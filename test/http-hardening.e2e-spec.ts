import request from 'supertest';
import { auth } from './support/fixtures';
import { BASE, createTestApp, removeDir, TestApp } from './support/test-app';

/** OWASP API4 (rate limit) and API8 (security headers, CORS closed unless configured). */
describe('HTTP hardening (e2e)', () => {
  describe('defaults', () => {
    let t: TestApp;
    let viewer: string;

    beforeAll(async () => {
      t = await createTestApp();
      viewer = await t.token('vera', ['viewer']);
    });
    afterAll(async () => {
      await t.close();
      removeDir(t.dataDir);
    });

    it.each([
      ['an API answer', `${BASE}/models`, 200],
      ['an error', `${BASE}/models/missing`, 404],
      ['an unauthenticated request', `${BASE}/models`, 401],
      ['a health probe', '/health/live', 200],
    ])('sets the security headers on %s', async (_what, path, status) => {
      let req = request(t.http).get(path);
      if (status !== 401) req = req.set(...auth(viewer));
      const res = await req.expect(status);
      expect(res.headers['x-content-type-options']).toBe('nosniff');
      expect(res.headers['x-frame-options']).toBe('DENY');
      expect(res.headers['referrer-policy']).toBe('no-referrer');
      expect(res.headers['strict-transport-security']).toMatch(/max-age=\d+/);
      expect(res.headers['content-security-policy']).toMatch(/default-src 'none'/);
      expect(res.headers['cache-control']).toBe('no-store');
      expect(res.headers['x-powered-by']).toBeUndefined();
    });

    it('lets Swagger UI load its own scripts, and nothing else', async () => {
      const res = await request(t.http).get('/docs/').expect(200);
      expect(res.headers['content-security-policy']).toMatch(/script-src 'self'/);
      expect(res.headers['content-security-policy']).toMatch(/frame-ancestors 'none'/);
    });

    it('keeps CORS closed: no Access-Control-Allow-Origin for any origin, preflight refused', async () => {
      const res = await request(t.http)
        .get(`${BASE}/models`)
        .set('Origin', 'https://evil.example')
        .set(...auth(viewer))
        .expect(200);
      expect(res.headers['access-control-allow-origin']).toBeUndefined();
      const preflight = await request(t.http)
        .options(`${BASE}/models`)
        .set('Origin', 'https://evil.example')
        .set('Access-Control-Request-Method', 'POST');
      expect(preflight.headers['access-control-allow-origin']).toBeUndefined();
      expect(preflight.headers['access-control-allow-methods']).toBeUndefined();
    });

    it('documents Idempotency-Key on every POST and 429 on every API operation', async () => {
      const doc = (await request(t.http).get('/docs-json').expect(200)).body as {
        paths: Record<
          string,
          Record<string, { parameters?: { name: string }[]; responses: object }>
        >;
      };
      let posts = 0;
      for (const [path, item] of Object.entries(doc.paths)) {
        if (!path.startsWith(BASE)) continue;
        for (const [method, op] of Object.entries(item)) {
          expect(Object.keys(op.responses)).toContain('429');
          if (method !== 'post') continue;
          posts++;
          expect((op.parameters ?? []).map((p) => p.name)).toContain('Idempotency-Key');
          expect(Object.keys(op.responses)).toEqual(expect.arrayContaining(['409', '422']));
        }
      }
      expect(posts).toBeGreaterThanOrEqual(6);
    });

    it('announces the rate limit on every authenticated answer', async () => {
      const res = await request(t.http)
        .get(`${BASE}/models`)
        .set(...auth(viewer))
        .expect(200);
      expect(res.headers['ratelimit-limit']).toBe('1200');
      expect(Number(res.headers['ratelimit-remaining'])).toBeLessThan(1200);
    });
  });

  describe('configured', () => {
    let t: TestApp;

    beforeAll(async () => {
      t = await createTestApp({
        env: {
          RATE_LIMIT_PER_MINUTE: '5',
          CORS_ORIGINS: 'https://ui.example,http://localhost:8080',
        },
      });
    });
    afterAll(async () => {
      await t.close();
      removeDir(t.dataDir);
    });

    it('answers 429 with Retry-After past the per-user limit, and counts each user apart', async () => {
      const alice = await t.token('alice', ['editor']);
      const bob = await t.token('bob', ['viewer']);
      const statuses: number[] = [];
      let limited: request.Response | undefined;
      for (let i = 0; i < 7; i++) {
        const res = await request(t.http)
          .get(`${BASE}/models`)
          .set(...auth(alice));
        statuses.push(res.status);
        if (res.status === 429) limited = res;
      }
      expect(statuses.slice(0, 5)).toEqual([200, 200, 200, 200, 200]);
      expect(statuses.slice(5)).toEqual([429, 429]);
      expect(limited!.body.code).toBe('RATE_LIMITED');
      expect(Number(limited!.headers['retry-after'])).toBeGreaterThanOrEqual(1);
      expect(Number(limited!.headers['retry-after'])).toBeLessThanOrEqual(12);
      expect(limited!.headers['ratelimit-remaining']).toBe('0');
      // Another user of the same tenant has a bucket of their own; health is never limited.
      await request(t.http)
        .get(`${BASE}/models`)
        .set(...auth(bob))
        .expect(200);
      await request(t.http).get('/health/live').expect(200);
      // The same user's writes are limited too (checked before anything is done).
      await request(t.http)
        .post(`${BASE}/models`)
        .set(...auth(alice))
        .send({})
        .expect(429);
    });

    it('allows the configured origins (preflight and answers), and only them', async () => {
      const viewer = await t.token('carol', ['viewer']);
      const preflight = await request(t.http)
        .options(`${BASE}/models`)
        .set('Origin', 'https://ui.example')
        .set('Access-Control-Request-Method', 'POST')
        .set('Access-Control-Request-Headers', 'authorization, content-type, idempotency-key')
        .expect(204);
      expect(preflight.headers['access-control-allow-origin']).toBe('https://ui.example');
      expect(preflight.headers['access-control-allow-headers']).toMatch(/Idempotency-Key/);
      expect(preflight.headers['access-control-allow-credentials']).toBeUndefined();
      const res = await request(t.http)
        .get(`${BASE}/models`)
        .set('Origin', 'http://localhost:8080')
        .set(...auth(viewer))
        .expect(200);
      expect(res.headers['access-control-allow-origin']).toBe('http://localhost:8080');
      expect(res.headers['access-control-expose-headers']).toMatch(/Location/);
      // A page that resumes a download reads the validator and the part it got.
      expect(res.headers['access-control-expose-headers']).toMatch(/\bETag\b.*\bContent-Range\b/);
      const download = await request(t.http)
        .options(`${BASE}/artifacts/model-abcdef/files/model.pkl`)
        .set('Origin', 'https://ui.example')
        .set('Access-Control-Request-Method', 'GET')
        .set('Access-Control-Request-Headers', 'authorization, range, if-range, if-none-match')
        .expect(204);
      expect(download.headers['access-control-allow-headers']).toMatch(
        /\bRange\b.*\bIf-None-Match\b.*\bIf-Range\b/,
      );
      expect(res.headers.vary).toMatch(/Origin/);
      const other = await request(t.http)
        .get(`${BASE}/models`)
        .set('Origin', 'https://evil.example')
        .set(...auth(viewer))
        .expect(200);
      expect(other.headers['access-control-allow-origin']).toBeUndefined();
    });
  });

  it('refuses a CORS_ORIGINS entry that is not an origin at boot', async () => {
    await expect(
      createTestApp({ env: { CORS_ORIGINS: 'https://ui.example/path' } }),
    ).rejects.toThrow(/CORS_ORIGINS/);
  });
});
