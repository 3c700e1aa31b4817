import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  exportJWK,
  exportSPKI,
  generateKeyPair,
  JWK,
  JWTPayload,
  KeyLike,
  SignJWT,
  UnsecuredJWT,
} from 'jose';
import { loadConfig } from '../../config/app-config';
import { ErrorCode, statusForCode } from '../errors/error-code';
import { RegistryError } from '../errors/registry-error';
import { JwtVerifier, VERIFIED_TOKEN_MAX_ENTRIES, VERIFIED_TOKEN_TTL_MS } from './jwt-verifier';
import { Role } from './roles';

const SECRET = 'unit-test-secret-0123456789-abcdefghijklmnop';
const OTHER_SECRET = 'another-secret-0123456789-abcdefghijklmnopqrs';
const ISSUER = 'https://idp.example.test/';
const AUDIENCE = 'model-registry';
const KID = 'test-key-1';

const now = (): number => Math.floor(Date.now() / 1000);
const b64url = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');

const dataDirs: string[] = [];
/** With AUTH_JWKS_URI an audience is required; tokens carry this one unless a test says otherwise. */
const JWKS_AUDIENCE = 'registry-api';

function verifierFor(env: Record<string, string | undefined>): JwtVerifier {
  const dir = mkdtempSync(join(tmpdir(), 'jwt-verifier-spec-'));
  dataDirs.push(dir);
  const audience = env.AUTH_JWKS_URI !== undefined ? { AUTH_AUDIENCE: JWKS_AUDIENCE } : {};
  return new JwtVerifier(loadConfig({ DATA_DIR: dir, ...audience, ...env }));
}

const validClaims = (overrides: Record<string, unknown> = {}): JWTPayload => ({
  sub: 'alice',
  tenant_id: 'acme-corp',
  roles: ['editor'],
  aud: JWKS_AUDIENCE,
  iat: now(),
  exp: now() + 600,
  ...overrides,
});

/** An HS256 token over exactly `claims` (no claim is added implicitly). */
function hs256(
  claims: Record<string, unknown>,
  secret: string | Uint8Array = SECRET,
  header: Record<string, unknown> = {},
): Promise<string> {
  const key = typeof secret === 'string' ? new TextEncoder().encode(secret) : secret;
  return new SignJWT(claims).setProtectedHeader({ alg: 'HS256', ...header }).sign(key);
}

function rs256(claims: Record<string, unknown>, key: KeyLike, kid = KID): Promise<string> {
  return new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid }).sign(key);
}

async function rejectionOf(promise: Promise<unknown>): Promise<RegistryError> {
  const outcome = await promise.then(
    (value) => ({ resolved: value }),
    (err: unknown) => ({ rejected: err }),
  );
  if (!('rejected' in outcome)) {
    throw new Error(`expected a rejection, got ${JSON.stringify(outcome.resolved)}`);
  }
  expect(outcome.rejected).toBeInstanceOf(RegistryError);
  return outcome.rejected as RegistryError;
}

async function expectUnauthenticated(promise: Promise<unknown>, message: RegExp): Promise<void> {
  const err = await rejectionOf(promise);
  expect(err.code).toBe(ErrorCode.Unauthenticated);
  expect(statusForCode(err.code)).toBe(401);
  expect(err.message).toMatch(message);
}

afterAll(() => {
  for (const dir of dataDirs) rmSync(dir, { recursive: true, force: true });
});

describe('JwtVerifier with an HS256 secret', () => {
  let verifier: JwtVerifier;

  beforeAll(() => {
    verifier = verifierFor({ AUTH_JWT_SECRET: SECRET });
  });

  it('turns a valid token into a principal, dropping unknown and duplicate roles', async () => {
    const token = await hs256(
      validClaims({ roles: ['viewer', 'superuser', 'approver', 'viewer', 'ADMIN', 'approver'] }),
    );
    await expect(verifier.verify(token)).resolves.toEqual({
      subject: 'alice',
      tenantId: 'acme-corp',
      roles: [Role.Viewer, Role.Approver],
    });
  });

  it('accepts every known role and an empty role list', async () => {
    const all = await hs256(validClaims({ roles: ['admin', 'editor', 'approver', 'viewer'] }));
    expect((await verifier.verify(all)).roles).toEqual([
      Role.Admin,
      Role.Editor,
      Role.Approver,
      Role.Viewer,
    ]);
    const none = await hs256(validClaims({ roles: [] }));
    await expect(verifier.verify(none)).resolves.toEqual({
      subject: 'alice',
      tenantId: 'acme-corp',
      roles: [],
    });
  });

  it('rejects an unsecured (alg: none) token', async () => {
    const unsecured = new UnsecuredJWT(validClaims()).encode();
    expect(unsecured.endsWith('.')).toBe(true);
    await expectUnauthenticated(verifier.verify(unsecured), /algorithm/i);

    // The same by hand, with a signature part that is not empty.
    const handmade = `${b64url({ alg: 'none', typ: 'JWT' })}.${b64url(validClaims())}.c2ln`;
    await expectUnauthenticated(verifier.verify(handmade), /algorithm|malformed/i);
  });

  it('rejects an HS256 token without a signature', async () => {
    const token = await hs256(validClaims());
    const [header, payload] = token.split('.');
    await expectUnauthenticated(verifier.verify(`${header}.${payload}.`), /signature|malformed/i);
  });

  it('rejects a token signed with a different secret', async () => {
    const token = await hs256(validClaims(), OTHER_SECRET);
    await expectUnauthenticated(verifier.verify(token), /^token signature is invalid$/);
  });

  it('says a badly signed token may carry another development secret when that is in use', async () => {
    const dev = verifierFor({});
    const token = await hs256(validClaims(), OTHER_SECRET);
    await expectUnauthenticated(
      dev.verify(token),
      /^token signature is invalid; .*another development secret.*`npm run -s token -- --sub/,
    );
  });

  it('rejects an HS384/HS512 token, even signed with the right secret', async () => {
    const key = new TextEncoder().encode(SECRET);
    for (const alg of ['HS384', 'HS512']) {
      const token = await new SignJWT(validClaims()).setProtectedHeader({ alg }).sign(key);
      await expectUnauthenticated(verifier.verify(token), /algorithm/i);
    }
  });

  it.each([
    ['a garbage string', 'not-a-jwt'],
    ['three garbage parts', 'abc.def.ghi'],
    ['an empty string', ''],
  ])('rejects %s as malformed', async (_what, token) => {
    await expectUnauthenticated(verifier.verify(token), /malformed/);
  });

  it('rejects a token whose payload was tampered with', async () => {
    const token = await hs256(validClaims({ roles: ['viewer'] }));
    const [header, , signature] = token.split('.');
    const forged = `${header}.${b64url(validClaims({ roles: ['admin'] }))}.${signature}`;
    await expectUnauthenticated(verifier.verify(forged), /signature is invalid/);
  });

  it('rejects a token expired beyond the 30 s tolerance', async () => {
    const token = await hs256(validClaims({ iat: now() - 600, exp: now() - 60 }));
    await expectUnauthenticated(verifier.verify(token), /expired/);
  });

  it('accepts a token expired by only 10 s (clock skew tolerance)', async () => {
    const token = await hs256(validClaims({ iat: now() - 600, exp: now() - 10 }));
    await expect(verifier.verify(token)).resolves.toMatchObject({ subject: 'alice' });
  });

  it('rejects a token whose nbf is 2 minutes in the future', async () => {
    const token = await hs256(validClaims({ nbf: now() + 120 }));
    await expectUnauthenticated(verifier.verify(token), /'nbf'/);
  });

  it('accepts a token whose nbf is 10 s in the future (clock skew tolerance)', async () => {
    const token = await hs256(validClaims({ nbf: now() + 10 }));
    await expect(verifier.verify(token)).resolves.toMatchObject({ subject: 'alice' });
  });

  it('rejects a token without exp', async () => {
    const claims = validClaims();
    delete claims.exp;
    await expectUnauthenticated(verifier.verify(await hs256(claims)), /'exp'.*missing/);
  });

  it('rejects a token with a non-numeric exp', async () => {
    const token = await hs256(validClaims({ exp: 'tomorrow' }));
    await expectUnauthenticated(verifier.verify(token), /'exp'/);
  });

  it('rejects a token without sub', async () => {
    const claims = validClaims();
    delete claims.sub;
    await expectUnauthenticated(verifier.verify(await hs256(claims)), /'sub'/);
  });

  it.each([
    ['empty', ''],
    ['a number', 42],
    ['longer than 256 characters', 'u'.repeat(257)],
  ])('rejects a token whose sub is %s', async (_what, sub) => {
    const token = await hs256(validClaims({ sub }));
    await expectUnauthenticated(verifier.verify(token), /'sub'/);
  });

  it.each([
    ['missing', undefined],
    ['containing a space', 'a b'],
    ['empty', ''],
    ['70 characters long', 't'.repeat(70)],
    ['starting with a dash', '-acme'],
    ['a path', '../etc'],
    ['a number', 42],
    ['an array', ['acme-corp']],
  ])('rejects a token whose tenant_id is %s', async (_what, tenantId) => {
    const claims = validClaims({ tenant_id: tenantId });
    if (tenantId === undefined) delete claims['tenant_id'];
    await expectUnauthenticated(verifier.verify(await hs256(claims)), /'tenant_id'/);
  });

  it('accepts a tenant_id of exactly 64 characters', async () => {
    const tenantId = 'T'.repeat(64);
    const token = await hs256(validClaims({ tenant_id: tenantId }));
    await expect(verifier.verify(token)).resolves.toMatchObject({ tenantId });
  });

  it.each([
    ['missing', undefined],
    ['a string', 'admin'],
    ['an object', { admin: true }],
    ['an array holding a non-string', ['viewer', 1]],
    ['null', null],
  ])('rejects a token whose roles claim is %s', async (_what, roles) => {
    const claims = validClaims({ roles });
    if (roles === undefined) delete claims['roles'];
    await expectUnauthenticated(verifier.verify(await hs256(claims)), /'roles'/);
  });
});

describe('JwtVerifier with AUTH_ISSUER and AUTH_AUDIENCE', () => {
  let verifier: JwtVerifier;

  beforeAll(() => {
    verifier = verifierFor({
      AUTH_JWT_SECRET: SECRET,
      AUTH_ISSUER: ISSUER,
      AUTH_AUDIENCE: AUDIENCE,
    });
  });

  it('accepts the configured issuer and audience', async () => {
    const token = await hs256(validClaims({ iss: ISSUER, aud: AUDIENCE }));
    await expect(verifier.verify(token)).resolves.toEqual({
      subject: 'alice',
      tenantId: 'acme-corp',
      roles: [Role.Editor],
    });
  });

  it('accepts an audience list that contains the configured audience', async () => {
    const token = await hs256(validClaims({ iss: ISSUER, aud: ['other-api', AUDIENCE] }));
    await expect(verifier.verify(token)).resolves.toMatchObject({ subject: 'alice' });
  });

  it.each([
    ['a wrong issuer', { iss: 'https://evil.example.test/', aud: AUDIENCE }, /'iss'/],
    ['no issuer', { aud: AUDIENCE }, /'iss'/],
    ['a wrong audience', { iss: ISSUER, aud: 'another-service' }, /'aud'/],
    ['no audience', { iss: ISSUER }, /'aud'/],
  ])('rejects a token with %s', async (_what, extra, message) => {
    const token = await hs256(validClaims(extra));
    await expectUnauthenticated(verifier.verify(token), message);
  });
});

interface JwksServer {
  server: Server;
  uri: string;
  hits: () => number;
}

async function listen(
  handler: (req: IncomingMessage, res: ServerResponse) => void,
): Promise<{ server: Server; port: number }> {
  const server = createServer(handler);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  return { server, port: (server.address() as AddressInfo).port };
}

async function close(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

async function startJwksServer(keys: JWK[]): Promise<JwksServer> {
  let hits = 0;
  const { server, port } = await listen((req, res) => {
    if (req.url !== '/.well-known/jwks.json') {
      res.writeHead(404).end();
      return;
    }
    hits += 1;
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ keys }));
  });
  return { server, uri: `http://127.0.0.1:${port}/.well-known/jwks.json`, hits: () => hits };
}

describe('JwtVerifier with a JWKS endpoint', () => {
  let idp: JwksServer;
  let privateKey: KeyLike;
  let publicKey: KeyLike;
  let publicJwk: JWK;
  let otherPrivateKey: KeyLike;

  beforeAll(async () => {
    ({ privateKey, publicKey } = await generateKeyPair('RS256'));
    ({ privateKey: otherPrivateKey } = await generateKeyPair('RS256'));
    publicJwk = { ...(await exportJWK(publicKey)), kid: KID, alg: 'RS256', use: 'sig' };
    idp = await startJwksServer([publicJwk]);
  });

  afterAll(async () => {
    await close(idp.server);
  });

  describe('configured with AUTH_JWKS_URI only', () => {
    let verifier: JwtVerifier;

    beforeAll(() => {
      verifier = verifierFor({ AUTH_JWKS_URI: idp.uri });
    });

    it('accepts an RS256 token signed by the published key', async () => {
      const before = idp.hits();
      const token = await rs256(validClaims({ roles: ['approver', 'approver'] }), privateKey);
      await expect(verifier.verify(token)).resolves.toEqual({
        subject: 'alice',
        tenantId: 'acme-corp',
        roles: [Role.Approver],
      });
      expect(idp.hits()).toBeGreaterThan(before);
    });

    it('rejects an RS256 token signed by another key under the same kid', async () => {
      const token = await rs256(validClaims(), otherPrivateKey);
      await expectUnauthenticated(verifier.verify(token), /signature is invalid/);
    });

    it('rejects an RS256 token whose kid the key set does not know', async () => {
      const token = await rs256(validClaims(), otherPrivateKey, 'unknown-kid');
      await expectUnauthenticated(verifier.verify(token), /unknown key/);
    });

    it('rejects an expired RS256 token from the right key', async () => {
      const token = await rs256(validClaims({ exp: now() - 120 }), privateKey);
      await expectUnauthenticated(verifier.verify(token), /expired/);
    });

    it('rejects an HS256 token, as no HMAC secret is configured', async () => {
      await expectUnauthenticated(verifier.verify(await hs256(validClaims())), /algorithm/i);
    });

    it('rejects an HS256 token keyed with the public key (HS/RS confusion)', async () => {
      const pem = await exportSPKI(publicKey);
      const token = await hs256(validClaims(), pem, { kid: KID });
      await expectUnauthenticated(verifier.verify(token), /algorithm/i);
    });
  });

  describe('configured with both AUTH_JWT_SECRET and AUTH_JWKS_URI', () => {
    let verifier: JwtVerifier;

    beforeAll(() => {
      verifier = verifierFor({ AUTH_JWT_SECRET: SECRET, AUTH_JWKS_URI: idp.uri });
    });

    it('accepts both an HS256 token with the secret and an RS256 token', async () => {
      await expect(verifier.verify(await hs256(validClaims()))).resolves.toMatchObject({
        subject: 'alice',
      });
      await expect(
        verifier.verify(await rs256(validClaims({ sub: 'bob' }), privateKey)),
      ).resolves.toMatchObject({ subject: 'bob' });
    });

    it.each([
      ['PEM', (): Promise<string | Uint8Array> => exportSPKI(publicKey)],
      ['JWK JSON', (): Promise<string | Uint8Array> => Promise.resolve(JSON.stringify(publicJwk))],
      [
        'JWK modulus',
        (): Promise<string | Uint8Array> => Promise.resolve(Buffer.from(publicJwk.n!, 'base64url')),
      ],
    ])(
      'rejects an HS256 token keyed with the public key %s (HS/RS confusion)',
      async (_form, keyBytes) => {
        const token = await hs256(validClaims({ roles: ['admin'] }), await keyBytes(), {
          kid: KID,
        });
        await expectUnauthenticated(verifier.verify(token), /signature is invalid/);
      },
    );

    it('rejects an RS256 token signed by another key', async () => {
      await expectUnauthenticated(
        verifier.verify(await rs256(validClaims(), otherPrivateKey)),
        /signature is invalid/,
      );
    });
  });
});

describe('JwtVerifier when the identity provider is unreachable', () => {
  let privateKey: KeyLike;

  beforeAll(async () => {
    ({ privateKey } = await generateKeyPair('RS256'));
  });

  it('answers BACKEND_UNAVAILABLE (503), not 401, when the JWKS port is closed', async () => {
    // Take a free port, then close it again so nothing listens there.
    const { server, port } = await listen((_req, res) => res.end());
    await close(server);
    const verifier = verifierFor({ AUTH_JWKS_URI: `http://127.0.0.1:${port}/jwks.json` });

    const err = await rejectionOf(verifier.verify(await rs256(validClaims(), privateKey)));
    expect({ code: err.code, message: err.message }).toEqual({
      code: ErrorCode.BackendUnavailable,
      message: expect.stringMatching(/identity provider.*unavailable/),
    });
    expect(statusForCode(err.code)).toBe(503);
  });

  it('answers BACKEND_UNAVAILABLE (503) when the JWKS endpoint does not answer in time', async () => {
    const { server, port } = await listen(() => {
      // Accept the request and never answer it.
    });
    try {
      const verifier = verifierFor({ AUTH_JWKS_URI: `http://127.0.0.1:${port}/jwks.json` });
      const err = await rejectionOf(verifier.verify(await rs256(validClaims(), privateKey)));
      expect(err.code).toBe(ErrorCode.BackendUnavailable);
      expect(err.message).toMatch(/identity provider.*unavailable/);
    } finally {
      await close(server);
    }
  }, 15_000);

  it('still rejects an HS256 token with a bad signature as 401 without asking the provider', async () => {
    const { server, port } = await listen((_req, res) => res.end());
    await close(server);
    const verifier = verifierFor({
      AUTH_JWT_SECRET: SECRET,
      AUTH_JWKS_URI: `http://127.0.0.1:${port}/jwks.json`,
    });
    await expectUnauthenticated(
      verifier.verify(await hs256(validClaims(), OTHER_SECRET)),
      /signature is invalid/,
    );
    await expect(verifier.verify(await hs256(validClaims()))).resolves.toMatchObject({
      subject: 'alice',
    });
  });
});

describe('JwtVerifier remembering verified tokens', () => {
  afterEach(() => jest.useRealTimers());

  /** Counts the full checks (signature and claims) the verifier makes; the check still runs. */
  function counted(verifier: JwtVerifier): { checks: () => number } {
    const spy = jest.spyOn(verifier as unknown as { check: () => unknown }, 'check');
    return { checks: () => spy.mock.calls.length };
  }

  it('checks a token once, then trusts it for VERIFIED_TOKEN_TTL_MS, with a frozen principal', async () => {
    const start = Date.now();
    jest.useFakeTimers({ now: start, doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] });
    const verifier = verifierFor({ AUTH_JWT_SECRET: SECRET });
    const { checks } = counted(verifier);
    const token = await hs256(validClaims({ exp: now() + 3600 }));
    const first = await verifier.verify(token);
    expect(await verifier.verify(token)).toBe(first);
    expect(checks()).toBe(1);
    expect(Object.isFrozen(first)).toBe(true);
    expect(Object.isFrozen(first.roles)).toBe(true);
    jest.setSystemTime(start + VERIFIED_TOKEN_TTL_MS + 1000);
    expect(await verifier.verify(token)).toEqual(first);
    expect(checks()).toBe(2);
  });

  it('never trusts a remembered token past its exp: the full check decides (and refuses)', async () => {
    const start = Date.now();
    jest.useFakeTimers({ now: start, doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] });
    const verifier = verifierFor({ AUTH_JWT_SECRET: SECRET });
    const { checks } = counted(verifier);
    const token = await hs256(validClaims({ exp: Math.floor(start / 1000) + 5 }));
    await verifier.verify(token);
    await verifier.verify(token);
    expect(checks()).toBe(1);
    // Past exp but within the 30 s tolerance: checked again (and accepted), not remembered.
    jest.setSystemTime(start + 10_000);
    await verifier.verify(token);
    await verifier.verify(token);
    expect(checks()).toBe(3);
    jest.setSystemTime(start + 40_000);
    await expectUnauthenticated(verifier.verify(token), /expired/);
  });

  it('does not remember a refused token, nor one whose nbf is still ahead', async () => {
    const verifier = verifierFor({ AUTH_JWT_SECRET: SECRET });
    const { checks } = counted(verifier);
    const bad = await hs256(validClaims(), OTHER_SECRET);
    await expectUnauthenticated(verifier.verify(bad), /signature is invalid/);
    await expectUnauthenticated(verifier.verify(bad), /signature is invalid/);
    const early = await hs256(validClaims({ nbf: now() + 10 }));
    await verifier.verify(early);
    await verifier.verify(early);
    expect(checks()).toBe(4);
  });

  it(`remembers at most ${VERIFIED_TOKEN_MAX_ENTRIES} tokens, dropping the first remembered`, async () => {
    const verifier = verifierFor({ AUTH_JWT_SECRET: SECRET });
    const { checks } = counted(verifier);
    const exp = now() + 3600;
    const tokens: string[] = [];
    for (let i = 0; i <= VERIFIED_TOKEN_MAX_ENTRIES; i++) {
      tokens.push(await hs256(validClaims({ sub: `user-${i}`, exp })));
    }
    for (const token of tokens.slice(0, VERIFIED_TOKEN_MAX_ENTRIES)) await verifier.verify(token);
    await verifier.verify(tokens[0]);
    expect(checks()).toBe(VERIFIED_TOKEN_MAX_ENTRIES);
    // One more: the first remembered (tokens[0], used again or not) makes room.
    await verifier.verify(tokens[VERIFIED_TOKEN_MAX_ENTRIES]);
    await verifier.verify(tokens[1]);
    expect(checks()).toBe(VERIFIED_TOKEN_MAX_ENTRIES + 1);
    await verifier.verify(tokens[0]);
    expect(checks()).toBe(VERIFIED_TOKEN_MAX_ENTRIES + 2);
  }, 60_000);
});
