/*
 * Mints a development bearer token signed with the service's HS256 secret.
 *
 *   npm run token -- --sub alice --tenant acme-corp --roles editor[,approver] [--ttl 12h]
 *
 * The secret is AUTH_JWT_SECRET (from the environment or .env) or, when unset, the development
 * secret the service keeps in DATA_DIR (created here if the service has not run yet).
 */
import { SignJWT } from 'jose';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { developmentSecret } from '../src/config/app-config';
import { ROLES } from '../src/common/auth/roles';

function fail(message: string): never {
  console.error(`token: ${message}`);
  console.error(
    'usage: npm run token -- --sub alice --tenant acme-corp --roles editor[,approver] [--ttl 12h]',
  );
  process.exit(2);
}

async function main(): Promise<void> {
  if (existsSync('.env')) process.loadEnvFile('.env');
  const { values } = parseArgs({
    options: {
      sub: { type: 'string' },
      tenant: { type: 'string' },
      roles: { type: 'string', default: 'viewer' },
      ttl: { type: 'string', default: '12h' },
      issuer: { type: 'string', default: process.env.AUTH_ISSUER },
      audience: { type: 'string', default: process.env.AUTH_AUDIENCE },
    },
  });
  if (!values.sub) fail('--sub is required');
  if (!values.tenant) fail('--tenant is required');
  const roles = (values.roles ?? '')
    .split(',')
    .map((r) => r.trim())
    .filter(Boolean);
  const unknown = roles.filter((r) => !(ROLES as string[]).includes(r));
  if (unknown.length > 0)
    fail(`unknown role(s) ${unknown.join(', ')}; roles are ${ROLES.join(', ')}`);

  const secret =
    process.env.AUTH_JWT_SECRET || developmentSecret(resolve(process.env.DATA_DIR || './data'));
  let jwt = new SignJWT({ tenant_id: values.tenant, roles })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(values.sub)
    .setIssuedAt()
    .setExpirationTime(values.ttl ?? '12h');
  if (values.issuer) jwt = jwt.setIssuer(values.issuer);
  if (values.audience) jwt = jwt.setAudience(values.audience);
  process.stdout.write(`${await jwt.sign(new TextEncoder().encode(secret))}\n`);
}

void main();
