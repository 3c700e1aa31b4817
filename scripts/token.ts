/*
 * Mints a bearer token signed with the secret of the service started from this folder.
 *
 *   T=$(npm run -s token -- --sub alice --tenant acme-corp --roles editor[,approver] [--ttl 12h])
 *
 * The secret is found exactly as the service finds it, by the same code: `.env` read by
 * loadEnvironmentFile, then loadConfig (AUTH_JWT_SECRET, or the development secret kept in
 * DATA_DIR, created here if the service has not run yet). Only the token goes to stdout;
 * everything else (help aside) to stderr.
 */
import { SignJWT } from 'jose';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import {
  AppConfig,
  ConfigurationError,
  DEV_SECRET_FILE,
  loadConfig,
} from '../src/config/app-config';
import { loadEnvironmentFile } from '../src/config/environment-file';
import { TENANT_ID_PATTERN } from '../src/common/auth/principal';
import { ROLES } from '../src/common/auth/roles';

const USAGE = `Mints a bearer token (HS256 JWT) for the Model Registry started from this folder.

usage: npm run -s token -- --sub <user> --tenant <tenant> [--roles <roles>] [--ttl <time>]

  --sub <user>        the user id (claim sub), required
  --tenant <tenant>   the tenant id (claim tenant_id), required: letters, digits, '.', '_', '-'
  --roles <roles>     comma-separated, any of ${ROLES.join(', ')} (default viewer)
  --ttl <time>        how long the token is valid: a number and a unit, s, m, h or d
                      (90s, 30m, 12h, 7d; default 12h, at most 365d); a bare number is refused
  --issuer <iss>      claim iss (default AUTH_ISSUER)
  --audience <aud>    claim aud (default AUTH_AUDIENCE)
  -h, --help          this text

The token is signed with AUTH_JWT_SECRET (environment or .env) or, without it, with the
development secret in DATA_DIR/${DEV_SECRET_FILE} (DATA_DIR defaults to ./data), exactly as
\`npm start\` from this folder finds it. Only the token is written to stdout:

  T=$(npm run -s token -- --sub alice --tenant acme-corp --roles editor)
  curl -H "Authorization: Bearer $T" http://localhost:3000/api/v1/ml/registry/models
`;

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400 };
const MAX_TTL_SECONDS = 365 * 86_400;

/** A wrong flag: said on stderr with the usage line, exit 2 (no stack trace). */
class UsageError extends Error {}

interface TokenRequest {
  sub: string;
  tenant: string;
  roles: string[];
  ttlSeconds: number;
  issuer?: string;
  audience?: string;
}

function ttlSeconds(value: string): number {
  const match = /^([0-9]+)([smhd])$/.exec(value.trim());
  if (!match) {
    throw new UsageError(
      `--ttl '${value}' is not a duration: give a number and a unit, s, m, h or d (90s, 30m, 12h, 7d)`,
    );
  }
  const seconds = Number(match[1]) * UNIT_SECONDS[match[2]];
  if (seconds <= 0) throw new UsageError('--ttl must be longer than 0');
  if (seconds > MAX_TTL_SECONDS) throw new UsageError('--ttl may be at most 365d');
  return seconds;
}

/** The request, or undefined for --help. */
function parseRequest(args: string[], config: () => AppConfig): TokenRequest | undefined {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args,
      strict: true,
      allowPositionals: false,
      options: {
        sub: { type: 'string' },
        tenant: { type: 'string' },
        roles: { type: 'string' },
        ttl: { type: 'string' },
        issuer: { type: 'string' },
        audience: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (err) {
    // node's own wording ("Unknown option '--bogus'", "Option '--sub <value>' argument missing")
    throw new UsageError((err as Error).message.split('\n')[0]);
  }
  if (values.help === true) return undefined;
  const text = (name: string): string | undefined => {
    const value = values[name];
    return typeof value === 'string' ? value : undefined;
  };
  const sub = text('sub')?.trim();
  if (!sub) throw new UsageError('--sub is required (the user id)');
  if (sub.length > 256) throw new UsageError('--sub may be at most 256 characters');
  const tenant = text('tenant')?.trim();
  if (!tenant) throw new UsageError('--tenant is required (the tenant id)');
  if (!TENANT_ID_PATTERN.test(tenant)) {
    throw new UsageError(
      `--tenant '${tenant}' is not a tenant id: letters, digits, '.', '_', '-', at most 64, starting with a letter or digit`,
    );
  }
  const roles = [
    ...new Set(
      (text('roles') ?? 'viewer')
        .split(',')
        .map((r) => r.trim())
        .filter(Boolean),
    ),
  ];
  if (roles.length === 0) throw new UsageError(`--roles names no role; use ${ROLES.join(', ')}`);
  const unknown = roles.filter((r) => !(ROLES as readonly string[]).includes(r));
  if (unknown.length > 0) {
    throw new UsageError(`unknown role(s) ${unknown.join(', ')}; roles are ${ROLES.join(', ')}`);
  }
  return {
    sub,
    tenant,
    roles,
    ttlSeconds: ttlSeconds(text('ttl') ?? '12h'),
    issuer: text('issuer') ?? config().auth.issuer,
    audience: text('audience') ?? config().auth.audience,
  };
}

async function main(): Promise<number> {
  loadEnvironmentFile();
  let loaded: AppConfig | undefined;
  const config = (): AppConfig => (loaded ??= loadConfig());
  let request: TokenRequest | undefined;
  try {
    request = parseRequest(process.argv.slice(2), config);
    if (request === undefined) {
      process.stdout.write(USAGE);
      return 0;
    }
    config();
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(
        `token: ${err.message}\n` +
          'usage: npm run -s token -- --sub <user> --tenant <tenant> [--roles viewer,editor,approver,admin] [--ttl 12h]  (--help for more)\n',
      );
      return 2;
    }
    if (err instanceof ConfigurationError) {
      // The service would not start with this configuration either.
      process.stderr.write(`token: ${err.message}\n`);
      return 1;
    }
    throw err;
  }
  const { auth, dataDir } = config();
  if (auth.jwtSecret === undefined) {
    process.stderr.write(
      'token: this service takes tokens from its identity provider only (AUTH_JWKS_URI, no ' +
        'AUTH_JWT_SECRET): get one from the provider, or set AUTH_JWT_SECRET to mint them here\n',
    );
    return 1;
  }
  if (auth.jwtSecretGenerated) {
    process.stderr.write(
      `token: signed with the development secret in ${join(dataDir, DEV_SECRET_FILE)}\n`,
    );
  }
  const now = Math.floor(Date.now() / 1000);
  let jwt = new SignJWT({ tenant_id: request.tenant, roles: request.roles })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(request.sub)
    .setIssuedAt(now)
    .setExpirationTime(now + request.ttlSeconds);
  if (request.issuer) jwt = jwt.setIssuer(request.issuer);
  if (request.audience) jwt = jwt.setAudience(request.audience);
  process.stdout.write(`${await jwt.sign(new TextEncoder().encode(auth.jwtSecret))}\n`);
  return 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`token: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
