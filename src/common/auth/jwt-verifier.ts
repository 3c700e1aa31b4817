import { Injectable } from '@nestjs/common';
import { createSecretKey, type KeyObject } from 'node:crypto';
import {
  createRemoteJWKSet,
  errors as joseErrors,
  JWTPayload,
  jwtVerify,
  JWTVerifyGetKey,
  JWTVerifyOptions,
} from 'jose';
import { AppConfig } from '../../config/app-config';
import { ErrorCode } from '../errors/error-code';
import { RegistryError } from '../errors/registry-error';
import { Principal, TENANT_ID_PATTERN } from './principal';
import { Role, ROLES } from './roles';

const ASYMMETRIC_ALGORITHMS = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
];
const CLOCK_TOLERANCE_SECONDS = 30;
/**
 * A token verified once is trusted again, without re-checking its signature, for at most this
 * long (and never past its `exp`): a cached read costs ~0.1 ms of CPU less (BENCHMARKS.md). A key
 * removed from AUTH_JWKS_URI stops being honoured for tokens already seen after this delay.
 */
export const VERIFIED_TOKEN_TTL_MS = 60_000;
/**
 * Verified tokens remembered at once, ~4 MiB at most; beyond, the one remembered first is
 * dropped (not the least recently used: every entry is re-checked within a minute anyway, and
 * moving a hit to the end of a full Map cost ~40 µs per request, as much as the check).
 */
export const VERIFIED_TOKEN_MAX_ENTRIES = 10_000;

const NETWORK_ERROR_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
]);

/**
 * True when the key set could not be fetched: a network error (checked by `code`, since Node's
 * errors may come from another realm), jose's timeout, or a key-set endpoint answering with
 * something other than a 200 and JSON.
 */
function isIdentityProviderOutage(err: unknown): boolean {
  if (err instanceof joseErrors.JWKSTimeout) return true;
  const e = err as {
    code?: unknown;
    cause?: { code?: unknown };
    name?: unknown;
    message?: unknown;
  } | null;
  for (const code of [e?.code, e?.cause?.code]) {
    if (typeof code === 'string' && NETWORK_ERROR_CODES.has(code)) return true;
  }
  // Where jose fetches with the global fetch (undici), a network failure is "fetch failed".
  if (e?.name === 'TypeError' && e.message === 'fetch failed') return true;
  const message = typeof e?.message === 'string' ? e.message : '';
  return (
    err instanceof joseErrors.JOSEError &&
    /^(Expected 200 OK from the JSON Web Key Set|Failed to parse the JSON Web Key Set)/.test(
      message,
    )
  );
}

interface VerifiedPrincipal {
  principal: Principal;
  claims: { exp: number; nbf?: number };
}

function unauthenticated(message: string): RegistryError {
  return new RegistryError(ErrorCode.Unauthenticated, message);
}

/**
 * Verifies bearer tokens: HS256 with AUTH_JWT_SECRET, and/or the asymmetric algorithms of an
 * OIDC provider's keys at AUTH_JWKS_URI. The key is chosen by the token's `alg` among the
 * configured ones only, so an HS256 token can never be checked against a public key.
 */
@Injectable()
export class JwtVerifier {
  private readonly secret?: KeyObject;
  private readonly jwks?: JWTVerifyGetKey;
  private readonly options: JWTVerifyOptions;
  /** token → its principal and the time (ms) until which it is trusted without a check. */
  private readonly verified = new Map<string, { principal: Principal; until: number }>();
  /** Said after 'token signature is invalid' while the development secret is in use. */
  private readonly badSignatureHint: string;

  constructor(config: AppConfig) {
    const algorithms: string[] = [];
    if (config.auth.jwtSecret !== undefined) {
      // A key object made once: jose would otherwise import the raw secret on every check.
      this.secret = createSecretKey(Buffer.from(config.auth.jwtSecret, 'utf8'));
      algorithms.push('HS256');
    }
    if (config.auth.jwksUri !== undefined) {
      this.jwks = createRemoteJWKSet(new URL(config.auth.jwksUri), {
        timeoutDuration: 5000,
        cooldownDuration: 30_000,
      });
      algorithms.push(...ASYMMETRIC_ALGORITHMS);
    }
    // With the secret `npm start` made in its DATA_DIR, a badly signed token is most likely one
    // minted by `npm run token` from another folder or DATA_DIR (it made a secret of its own).
    // No path is said here: the answer goes to whoever calls; the startup log has the command.
    this.badSignatureHint = config.auth.jwtSecretGenerated
      ? '; this development deployment signs with the secret kept in its DATA_DIR, so the ' +
        'token may be signed with another development secret (minted from another folder or ' +
        'DATA_DIR): mint one with `npm run -s token -- --sub <user> --tenant <tenant> --roles ' +
        '<roles>` from the folder the service runs from, with the same DATA_DIR (the service ' +
        'prints the exact command when it starts)'
      : '';
    this.options = {
      algorithms,
      clockTolerance: CLOCK_TOLERANCE_SECONDS,
      issuer: config.auth.issuer,
      audience: config.auth.audience,
      requiredClaims: ['sub', 'exp'],
    };
  }

  async verify(token: string): Promise<Principal> {
    const hit = this.remembered(token);
    if (hit !== undefined) return hit;
    const now = Date.now();
    const checked = await this.check(token);
    this.remember(token, checked, now);
    return checked.principal;
  }

  /**
   * The principal of a token verified before and still trusted (see `remember`), without a
   * check and without waiting: the guard answers a known token synchronously (no promise).
   * Undefined when the token must be verified.
   */
  remembered(token: string): Principal | undefined {
    const hit = this.verified.get(token);
    if (hit === undefined) return undefined;
    if (hit.until > Date.now()) return hit.principal;
    this.verified.delete(token);
    return undefined;
  }

  /**
   * Keeps a verified token's principal until its `exp` (the clock tolerance is not granted: past
   * `exp` the full check decides) or VERIFIED_TOKEN_TTL_MS, whichever comes first. A token not
   * yet valid by its `nbf` (accepted within the tolerance) is not kept.
   */
  private remember(token: string, principal: VerifiedPrincipal, now: number): void {
    const { exp, nbf } = principal.claims;
    if (nbf !== undefined && nbf * 1000 > now) return;
    const until = Math.min(exp * 1000, now + VERIFIED_TOKEN_TTL_MS);
    if (until <= now) return;
    if (this.verified.size >= VERIFIED_TOKEN_MAX_ENTRIES) {
      const oldest = this.verified.keys().next().value;
      if (oldest !== undefined) this.verified.delete(oldest);
    }
    this.verified.set(token, { principal: principal.principal, until });
  }

  private async check(token: string): Promise<VerifiedPrincipal> {
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, this.keyFor, this.options));
    } catch (err) {
      // The identity provider being unreachable is our outage, not the caller's fault.
      if (isIdentityProviderOutage(err)) throw RegistryError.unavailable('the identity provider');
      throw unauthenticated(this.describe(err));
    }
    return {
      principal: this.toPrincipal(payload),
      // `exp` is a required claim: jose has checked it is a number.
      claims: { exp: payload.exp as number, nbf: payload.nbf },
    };
  }

  private readonly keyFor: JWTVerifyGetKey = async (header, token) => {
    if (header.alg === 'HS256' && this.secret) return this.secret;
    if (header.alg !== undefined && ASYMMETRIC_ALGORITHMS.includes(header.alg) && this.jwks) {
      return this.jwks(header, token);
    }
    throw unauthenticated(`token algorithm '${String(header.alg)}' is not accepted`);
  };

  private describe(err: unknown): string {
    if (err instanceof RegistryError) return err.message;
    if (err instanceof joseErrors.JWTExpired) return 'token has expired';
    if (err instanceof joseErrors.JWTClaimValidationFailed) {
      return `token claim '${err.claim}' is invalid: ${err.reason}`;
    }
    if (err instanceof joseErrors.JOSEAlgNotAllowed) return 'token algorithm is not accepted';
    if (err instanceof joseErrors.JWSSignatureVerificationFailed)
      return `token signature is invalid${this.badSignatureHint}`;
    if (err instanceof joseErrors.JWKSNoMatchingKey) return 'token was signed by an unknown key';
    return 'token is malformed or badly signed';
  }

  private toPrincipal(payload: JWTPayload): Principal {
    const { sub } = payload;
    const tenantId = payload['tenant_id'];
    const roles = payload['roles'];
    if (typeof sub !== 'string' || sub.length === 0 || sub.length > 256) {
      throw unauthenticated("token claim 'sub' must be a non-empty string");
    }
    if (typeof tenantId !== 'string' || !TENANT_ID_PATTERN.test(tenantId)) {
      throw unauthenticated(
        "token claim 'tenant_id' must be a tenant id (letters, digits, '.', '_', '-'; at most 64)",
      );
    }
    if (!Array.isArray(roles) || roles.some((r) => typeof r !== 'string')) {
      throw unauthenticated("token claim 'roles' must be an array of strings");
    }
    const known = (roles as string[]).filter((r): r is Role => (ROLES as string[]).includes(r));
    // Frozen: one principal serves every request that presents the same token.
    return Object.freeze({ subject: sub, tenantId, roles: Object.freeze([...new Set(known)]) });
  }
}
