// A real OpenID Connect provider (oidc-provider, a certified implementation) on loopback, for the
// console's sign-in test. Run as a child process (the package is ESM only):
//   OIDC_CLIENT_ID=... OIDC_REDIRECT_URI=... OIDC_RESOURCE=... OIDC_ACCOUNTS='{"bob": {...}}' \
//     node test/support/oidc-provider.mjs
// It prints one JSON line {"issuer": "http://127.0.0.1:<port>"} once it listens. Any login is
// accepted by the development login form (devInteractions), then its consent form grants the
// scopes; the access token it issues for OIDC_RESOURCE is a JWT (RS256) carrying the claims the
// registry checks: sub, tenant_id and roles (from OIDC_ACCOUNTS; else a viewer).
import Provider, { errors } from 'oidc-provider';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { createServer } from 'node:http';

const env = (name) => {
  const value = process.env[name];
  if (value === undefined || value === '') throw new Error(`${name} is required`);
  return value;
};
const clientId = env('OIDC_CLIENT_ID');
const redirectUri = env('OIDC_REDIRECT_URI');
const resource = env('OIDC_RESOURCE');
const accounts = JSON.parse(process.env.OIDC_ACCOUNTS ?? '{}');
const claimsOf = (sub) => accounts[sub] ?? { tenant_id: 'acme-corp', roles: ['viewer'] };

const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const signingKey = {
  ...privateKey.export({ format: 'jwk' }),
  kid: 'console-test',
  alg: 'RS256',
  use: 'sig',
};

const server = createServer();
server.listen(0, '127.0.0.1', () => {
  const issuer = `http://127.0.0.1:${server.address().port}`;
  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: clientId,
        token_endpoint_auth_method: 'none',
        redirect_uris: [redirectUri],
        grant_types: ['authorization_code'],
        response_types: ['code'],
      },
    ],
    jwks: { keys: [signingKey] },
    cookies: { keys: [randomBytes(32).toString('hex')] },
    scopes: ['openid', 'registry'],
    pkce: { required: () => true },
    findAccount: (_ctx, sub) => ({ accountId: sub, claims: () => ({ sub }) }),
    features: {
      devInteractions: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => resource,
        useGrantedResource: () => true,
        getResourceServerInfo: (_ctx, indicator) => {
          if (indicator !== resource) throw new errors.InvalidTarget();
          return {
            scope: 'registry',
            audience: resource,
            accessTokenTTL: 3600,
            accessTokenFormat: 'jwt',
            jwt: { sign: { alg: 'RS256' } },
          };
        },
      },
    },
    extraTokenClaims: (_ctx, token) => {
      const { tenant_id, roles } = claimsOf(token.accountId);
      return { tenant_id, roles };
    },
  });
  server.on('request', provider.callback());
  process.stdout.write(`${JSON.stringify({ issuer })}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
