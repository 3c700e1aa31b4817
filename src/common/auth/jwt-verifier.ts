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
    this.options = {
      algorithms,
      clockTolerance: CLOCK_TOLERANCE_SECONDS,
      issuer: config.auth.issuer,
      audience: config.auth.audience,
      requiredClaims: ['sub', 'exp'],
    };
  }

  async verify(token: string): Promise<Principal> {
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, this.keyFor, this.options));
    } catch (err) {
      // The identity provider being unreachable is our outage, not the caller's fault.
      if (isIdentityProviderOutage(err)) throw RegistryError.unavailable('the identity provider');
      throw unauthenticated(this.describe(err));
    }
    return this.toPrincipal(payload);
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
      return 'token signature is invalid';
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
    return { subject: sub, tenantId, roles: [...new Set(known)] };
  }
}
