/**
 * OWASP API2:2023 Broken Authentication. Every forged, expired, misdirected or malformed bearer
 * token is tried on every operation of the OpenAPI document: all 401 UNAUTHENTICATED. Two
 * deployments: HS256 with AUTH_JWT_SECRET (and AUTH_ISSUER/AUTH_AUDIENCE), and an OIDC provider
 * at AUTH_JWKS_URI served by a real local HTTP server (RS256), where HS/RS confusion is tried.
 */
import { exportJWK, exportSPKI, generateKeyPair, JWK, JWTPayload, KeyLike, SignJWT } from 'jose';
import { createHmac } from 'node:crypto';
import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import request from 'supertest';
import {
  serve,
  call,
  eachLimit,
  fillPath,
  isPublic,
  loadSpec,
  Operation,
  operationsOf,
  REQUIRED_QUERY,
  SecurityLog,
  VALID_BODIES,
  withQuery,
} from '../support/security-harness';
import { BASE, createTestApp, removeDir, TEST_SECRET, TestApp } from '../support/test-app';

const CAT = 'API2 authentication';
const ISSUER = 'https://issuer.security.test';
const AUDIENCE = 'model-registry';
const IDS = {
  name: 'auth-model',
  version: 1,
  id: '3f6d1c2e-8a4b-4f0e-9d7c-1b2a3c4d5e6f',
  artifact_id: 'model-abcdef123',
  file: 'model.pkl',
  alias: 'challenger',
  webhook_id: 'wh_5d1c0e7a9b3f4e2a8c6d',
  delivery_id: 'dlv_0a1b2c3d4e5f60718293a4b5',
};

const b64 = (v: unknown): string =>
  Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');
const now = (): number => Math.floor(Date.now() / 1000);

interface Claims extends JWTPayload {
  tenant_id?: unknown;
  roles?: unknown;
}

const goodClaims = (): Claims => ({
  sub: 'alice',
  tenant_id: 'acme-corp',
  roles: ['admin'],
  iss: ISSUER,
  aud: AUDIENCE,
  iat: now(),
  exp: now() + 600,
});

/** Signs exactly these claims (nothing added) with HS* and `secret`. */
function hs(claims: Claims, secret: string | Uint8Array = TEST_SECRET, alg = 'HS256', header = {}) {
  const key = typeof secret === 'string' ? new TextEncoder().encode(secret) : secret;
  return new SignJWT(claims).setProtectedHeader({ alg, ...header }).sign(key);
}

/** HMAC-SHA256 over any header (jose refuses to sign some of the headers tried here). */
function hmacToken(header: Record<string, unknown>, claims: Claims, secret = TEST_SECRET): string {
  const input = `${b64(header)}.${b64(claims)}`;
  return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
}

function without(claims: Claims, key: string): Claims {
  const copy = { ...claims };
  delete copy[key];
  return copy;
}

/** An unsigned token: `alg` none (or any), empty or given signature. */
function unsigned(claims: Claims, alg: string, signature = ''): string {
  return `${b64({ alg, typ: 'JWT' })}.${b64(claims)}.${signature}`;
}

interface Attack {
  name: string;
  /** The Authorization header to send; undefined = none. */
  header: string | undefined;
}

/** A local OIDC key set server on 127.0.0.1 that counts what it is asked. */
async function jwksServer(
  keys: JWK[],
): Promise<{ server: Server; url: string; hits: () => number }> {
  let hits = 0;
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    hits += 1;
    res.setHeader('Content-Type', 'application/json');
    res.end(JSON.stringify({ keys }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return { server, url: `http://127.0.0.1:${port}/.well-known/jwks.json`, hits: () => hits };
}

const closeServer = (s: Server): Promise<void> => new Promise((r) => s.close(() => r()));

jest.setTimeout(60_000);

describe('OWASP API2: authentication (e2e)', () => {
  const log = new SecurityLog('api2-authentication');
  let operations: Operation[];

  /** Every attack on every protected operation: 401 UNAUTHENTICATED, nothing else. */
  async function expectRefusedEverywhere(t: TestApp, attacks: Attack[]): Promise<void> {
    const failures: unknown[] = [];
    const cells = attacks.flatMap((attack) => operations.map((o) => ({ attack, o })));
    await eachLimit(cells, 8, async ({ attack, o }) => {
      const url = withQuery(fillPath(o.path, IDS), REQUIRED_QUERY[o.key]);
      let r = call(t, o.method, url, undefined, VALID_BODIES[o.key]);
      if (attack.header !== undefined) r = r.set('Authorization', attack.header);
      const res = log.see(`${attack.name} ${o.key}`, await r);
      log.attack(CAT);
      if (res.status !== 401 || res.body.code !== 'UNAUTHENTICATED') {
        failures.push({ attack: attack.name, route: o.key, status: res.status, body: res.body });
      }
    });
    expect(failures).toEqual([]);
  }

  describe('HS256 with AUTH_JWT_SECRET, AUTH_ISSUER and AUTH_AUDIENCE', () => {
    let t: TestApp;

    beforeAll(async () => {
      t = await serve(
        await createTestApp({ env: { AUTH_ISSUER: ISSUER, AUTH_AUDIENCE: AUDIENCE } }),
      );
      const spec = await loadSpec(t);
      operations = operationsOf(spec).filter((o) => !isPublic(o.op));
    });

    afterAll(async () => {
      await t.close();
      removeDir(t.dataDir);
    });

    it('a well-formed token is accepted (the control), within 30 s of clock skew', async () => {
      expect(operations.length).toBeGreaterThanOrEqual(20);
      const ok = async (claims: Claims): Promise<void> => {
        const res = await request(t.http)
          .get(`${BASE}/models`)
          .set('Authorization', `Bearer ${await hs(claims)}`);
        expect(res.status).toBe(200);
      };
      await ok(goodClaims());
      await ok({ ...goodClaims(), exp: now() - 10 });
      await ok({ ...goodClaims(), nbf: now() + 10 });
      await ok({ ...goodClaims(), aud: ['other-app', AUDIENCE] });
    });

    it('every bad token is 401 on every protected operation', async () => {
      const good = await hs(goodClaims());
      const [h, p, s] = good.split('.');
      const forgedPayload = b64({ ...goodClaims(), tenant_id: 'other-tenant' });
      const { privateKey } = await generateKeyPair('RS256');
      const rs = await new SignJWT(goodClaims())
        .setProtectedHeader({ alg: 'RS256' })
        .sign(privateKey);
      const flipped = s.slice(0, -2) + (s.endsWith('AA') ? 'BB' : 'AA');
      const c = goodClaims();
      const attacks: Attack[] = [
        { name: 'no Authorization header', header: undefined },
        { name: 'empty header', header: '' },
        { name: 'Bearer without token', header: 'Bearer' },
        { name: 'Bearer and a space', header: 'Bearer ' },
        { name: 'Basic credentials', header: 'Basic YWxpY2U6c2VjcmV0' },
        { name: 'token without scheme', header: good },
        { name: 'other scheme', header: `Token ${good}` },
        { name: 'two tokens', header: `Bearer ${good} ${good}` },
        { name: 'two parts', header: `Bearer ${h}.${p}` },
        { name: 'four parts', header: `Bearer ${good}.${s}` },
        { name: 'garbage', header: 'Bearer not-a-jwt' },
        { name: 'not base64', header: 'Bearer @@@.###.$$$' },
        { name: 'header not JSON', header: `Bearer ${b64('nope')}.${p}.${s}` },
        { name: 'payload not JSON', header: `Bearer ${h}.${b64('nope')}.${s}` },
        { name: 'payload swapped (tenant)', header: `Bearer ${h}.${forgedPayload}.${s}` },
        { name: 'signature flipped', header: `Bearer ${h}.${p}.${flipped}` },
        { name: 'signature removed', header: `Bearer ${h}.${p}.` },
        { name: 'alg none', header: `Bearer ${unsigned(c, 'none')}` },
        { name: 'alg None', header: `Bearer ${unsigned(c, 'None')}` },
        { name: 'alg NONE', header: `Bearer ${unsigned(c, 'NONE')}` },
        { name: 'alg nOnE', header: `Bearer ${unsigned(c, 'nOnE')}` },
        { name: 'alg none with the HS signature', header: `Bearer ${unsigned(c, 'none', s)}` },
        { name: 'alg missing', header: `Bearer ${b64({ typ: 'JWT' })}.${p}.${s}` },
        { name: 'alg empty', header: `Bearer ${unsigned(c, '')}` },
        { name: 'wrong key', header: `Bearer ${await hs(c, TEST_SECRET + 'x')}` },
        {
          name: 'wrong key (truncated)',
          header: `Bearer ${await hs(c, TEST_SECRET.slice(0, 32))}`,
        },
        {
          name: 'wrong key with kid traversal',
          header: `Bearer ${await hs(c, 'x'.repeat(32), 'HS256', { kid: '../../../../dev/null' })}`,
        },
        { name: 'HS384 with the secret', header: `Bearer ${await hs(c, TEST_SECRET, 'HS384')}` },
        { name: 'HS512 with the secret', header: `Bearer ${await hs(c, TEST_SECRET, 'HS512')}` },
        { name: 'RS256 without a key set', header: `Bearer ${rs}` },
        {
          name: 'unknown crit header',
          header: `Bearer ${hmacToken({ alg: 'HS256', crit: ['x-unknown'], 'x-unknown': 1 }, c)}`,
        },
        { name: 'expired 60 s ago', header: `Bearer ${await hs({ ...c, exp: now() - 60 })}` },
        { name: 'expired a day ago', header: `Bearer ${await hs({ ...c, exp: now() - 86400 })}` },
        { name: 'nbf in 60 s', header: `Bearer ${await hs({ ...c, nbf: now() + 60 })}` },
        { name: 'nbf in a year', header: `Bearer ${await hs({ ...c, nbf: now() + 3e7 })}` },
        {
          name: 'exp as a string',
          header: `Bearer ${await hs({ ...c, exp: String(now() + 600) } as unknown as Claims)}`,
        },
        { name: 'wrong issuer', header: `Bearer ${await hs({ ...c, iss: 'https://evil.test' })}` },
        { name: 'issuer with a slash', header: `Bearer ${await hs({ ...c, iss: ISSUER + '/' })}` },
        { name: 'no issuer', header: `Bearer ${await hs(without(c, 'iss'))}` },
        { name: 'wrong audience', header: `Bearer ${await hs({ ...c, aud: 'other-app' })}` },
        {
          name: 'audience list without ours',
          header: `Bearer ${await hs({ ...c, aud: ['a', 'b'] })}`,
        },
        { name: 'no audience', header: `Bearer ${await hs(without(c, 'aud'))}` },
        { name: 'no sub', header: `Bearer ${await hs(without(c, 'sub'))}` },
        { name: 'empty sub', header: `Bearer ${await hs({ ...c, sub: '' })}` },
        {
          name: 'sub a number',
          header: `Bearer ${await hs({ ...c, sub: 42 } as unknown as Claims)}`,
        },
        { name: 'no tenant_id', header: `Bearer ${await hs(without(c, 'tenant_id'))}` },
        { name: 'tenant_id a number', header: `Bearer ${await hs({ ...c, tenant_id: 7 })}` },
        {
          name: 'tenant_id a list',
          header: `Bearer ${await hs({ ...c, tenant_id: ['acme-corp'] })}`,
        },
        {
          name: 'tenant_id with a ~',
          header: `Bearer ${await hs({ ...c, tenant_id: 'acme~corp' })}`,
        },
        {
          name: 'tenant_id with a /',
          header: `Bearer ${await hs({ ...c, tenant_id: '../acme' })}`,
        },
        { name: 'tenant_id empty', header: `Bearer ${await hs({ ...c, tenant_id: '' })}` },
        { name: 'no roles', header: `Bearer ${await hs(without(c, 'roles'))}` },
        { name: 'roles a string', header: `Bearer ${await hs({ ...c, roles: 'admin' })}` },
        { name: 'roles an object', header: `Bearer ${await hs({ ...c, roles: { admin: true } })}` },
        { name: 'roles of numbers', header: `Bearer ${await hs({ ...c, roles: [1] })}` },
        { name: 'roles null', header: `Bearer ${await hs({ ...c, roles: null })}` },
        { name: 'no exp', header: `Bearer ${await hs(without(c, 'exp'))}` },
      ];
      await expectRefusedEverywhere(t, attacks);
    });

    it('a valid token with only unknown roles (or none) is authenticated but refused: 403', async () => {
      // DESIGN.md: "403: authenticated but the role is missing". Unknown role names grant nothing.
      for (const roles of [['superuser'], ['ADMIN'], ['admin '], [], ['root', 'owner']]) {
        for (const o of operations) {
          const url = withQuery(fillPath(o.path, IDS), REQUIRED_QUERY[o.key]);
          const token = await hs({ ...goodClaims(), roles });
          const res = log.see(
            `roles ${JSON.stringify(roles)} ${o.key}`,
            await call(t, o.method, url, token, VALID_BODIES[o.key]),
          );
          log.attack(CAT);
          expect([JSON.stringify(roles), o.key, res.status, res.body.code]).toEqual([
            JSON.stringify(roles),
            o.key,
            403,
            'FORBIDDEN',
          ]);
        }
      }
    });

    it('no error body leaked internals', () => {
      expect(log.problems([t.dataDir, TEST_SECRET])).toEqual([]);
    });
  });

  describe('RS256 from an OIDC key set (AUTH_JWKS_URI), no AUTH_JWT_SECRET', () => {
    let t: TestApp;
    let jwks: Awaited<ReturnType<typeof jwksServer>>;
    let attacker: Awaited<ReturnType<typeof jwksServer>>;
    let privateKey: KeyLike;
    let publicJwk: JWK;
    let publicPem: string;
    let otherKey: KeyLike;
    let otherJwk: JWK;

    const rs = (claims: Claims, key: KeyLike = privateKey, header: Record<string, unknown> = {}) =>
      new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: 'k1', ...header }).sign(key);

    beforeAll(async () => {
      const pair = await generateKeyPair('RS256', { extractable: true });
      privateKey = pair.privateKey;
      publicJwk = { ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
      publicPem = await exportSPKI(pair.publicKey);
      const other = await generateKeyPair('RS256', { extractable: true });
      otherKey = other.privateKey;
      otherJwk = { ...(await exportJWK(other.publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
      jwks = await jwksServer([publicJwk]);
      attacker = await jwksServer([otherJwk]);
      t = await serve(
        await createTestApp({
          env: {
            AUTH_JWT_SECRET: undefined as unknown as string,
            AUTH_JWKS_URI: jwks.url,
            AUTH_ISSUER: ISSUER,
            AUTH_AUDIENCE: AUDIENCE,
          },
        }),
      );
      expect(t.config.auth.jwtSecret).toBeUndefined();
      const spec = await loadSpec(t);
      operations = operationsOf(spec).filter((o) => !isPublic(o.op));
    });

    afterAll(async () => {
      await t.close();
      removeDir(t.dataDir);
      await closeServer(jwks.server);
      await closeServer(attacker.server);
    });

    it("a token signed with the provider's key is accepted (the control)", async () => {
      const res = await request(t.http)
        .get(`${BASE}/models`)
        .set('Authorization', `Bearer ${await rs(goodClaims())}`);
      expect(res.status).toBe(200);
      expect(jwks.hits()).toBeGreaterThanOrEqual(1);
    });

    it('HS/RS confusion, foreign keys and bad claims are 401 on every protected operation', async () => {
      const c = goodClaims();
      const enc = new TextEncoder();
      const jwkBytes = enc.encode(JSON.stringify(publicJwk));
      const attacks: Attack[] = [
        { name: 'HS256 signed with the public PEM', header: `Bearer ${await hs(c, publicPem)}` },
        {
          name: 'HS256 signed with the public PEM, kid k1',
          header: `Bearer ${await hs(c, publicPem, 'HS256', { kid: 'k1' })}`,
        },
        {
          name: 'HS256 signed with the PEM without newline',
          header: `Bearer ${await hs(c, publicPem.trim())}`,
        },
        {
          name: 'HS256 signed with the JWK JSON',
          header: `Bearer ${await hs(c, jwkBytes, 'HS256', { kid: 'k1' })}`,
        },
        {
          name: 'HS256 signed with the modulus',
          header: `Bearer ${await hs(c, Buffer.from(publicJwk.n!, 'base64url'), 'HS256', { kid: 'k1' })}`,
        },
        {
          name: 'HS512 signed with the public PEM',
          header: `Bearer ${await hs(c, publicPem, 'HS512')}`,
        },
        { name: 'HS256 with the test secret', header: `Bearer ${await hs(c)}` },
        { name: 'alg none', header: `Bearer ${unsigned(c, 'none')}` },
        { name: 'RS256 by another key, same kid', header: `Bearer ${await rs(c, otherKey)}` },
        {
          name: 'RS256 by another key, unknown kid',
          header: `Bearer ${await rs(c, otherKey, { kid: 'k2' })}`,
        },
        {
          name: "jku pointing at the attacker's key set",
          header: `Bearer ${await rs(c, otherKey, { jku: attacker.url, kid: 'k1' })}`,
        },
        {
          name: 'x5u pointing at the attacker',
          header: `Bearer ${await rs(c, otherKey, { x5u: attacker.url })}`,
        },
        {
          name: "embedded jwk of the attacker's key",
          header: `Bearer ${await rs(c, otherKey, { jwk: { kty: otherJwk.kty, n: otherJwk.n, e: otherJwk.e } })}`,
        },
        { name: 'expired', header: `Bearer ${await rs({ ...c, exp: now() - 60 })}` },
        { name: 'not yet valid', header: `Bearer ${await rs({ ...c, nbf: now() + 60 })}` },
        { name: 'wrong issuer', header: `Bearer ${await rs({ ...c, iss: 'https://evil.test' })}` },
        { name: 'wrong audience', header: `Bearer ${await rs({ ...c, aud: 'other-app' })}` },
        { name: 'no audience', header: `Bearer ${await rs(without(c, 'aud'))}` },
        { name: 'no exp', header: `Bearer ${await rs(without(c, 'exp'))}` },
        { name: 'no tenant_id', header: `Bearer ${await rs(without(c, 'tenant_id'))}` },
        { name: 'roles a string', header: `Bearer ${await rs({ ...c, roles: 'admin' })}` },
      ];
      await expectRefusedEverywhere(t, attacks);
      expect(attacker.hits()).toBe(0);
    });

    it('an unreachable key set is a 503 with Retry-After, not a 401', async () => {
      const closed = await jwksServer([publicJwk]);
      const url = closed.url;
      await closeServer(closed.server);
      const down = await createTestApp({
        env: {
          AUTH_JWT_SECRET: undefined as unknown as string,
          AUTH_JWKS_URI: url,
          AUTH_AUDIENCE: AUDIENCE,
        },
      });
      try {
        const res = log.see(
          'key set down',
          await request(down.http)
            .get(`${BASE}/models`)
            .set('Authorization', `Bearer ${await rs(goodClaims())}`),
        );
        log.attack(CAT);
        expect(res.status).toBe(503);
        expect(res.body.code).toBe('BACKEND_UNAVAILABLE');
        expect(res.headers['retry-after']).toBeDefined();
      } finally {
        await down.close();
        removeDir(down.dataDir);
      }
    });

    it('no error body leaked internals', () => {
      expect(log.problems([t.dataDir, jwks.url, '127.0.0.1'])).toEqual([]);
    });
  });

  afterAll(() => log.write());
});

// Keep the operation list type-checked where it is filled.
export type { Operation };
