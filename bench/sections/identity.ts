import { createSecretKey, KeyObject } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { jwtVerify } from 'jose';
import { JwtVerifier } from '../../src/common/auth/jwt-verifier';
import type { AppConfig } from '../../src/config/app-config';
import { Context } from '../lib/context';
import { round } from '../lib/http';
import { SECRET, token } from '../lib/service';

export interface IdentityResult {
  verifications: number;
  /** A token seen for the first time: signature, claims, tenant and roles checked. */
  perVerifyMicros: number;
  verifiesPerSecond: number;
  /** A token verified before (the verifier remembers it, up to 60 s, never past exp). */
  perRememberedMicros?: number;
  /** The same, with a tenant check on the result (what scoping adds on top). */
  perVerifyAndScopeMicros: number;
  /**
   * Diagnostic: jose's jwtVerify with the secret as a Uint8Array (what JwtVerifier passes,
   * imported again at every call) and as a KeyObject made once.
   */
  joseUint8ArrayMicros: number;
  joseKeyObjectMicros: number;
}

/**
 * 5. The cost of identity on its own: the service's JwtVerifier.verify (HS256 signature,
 * exp/nbf with skew, required claims, tenant and roles), in process, one at a time; then with
 * the tenant scoping a read does (the principal's tenant compared with the resource's).
 */
export async function identity(ctx: Context): Promise<IdentityResult> {
  const config = { auth: { jwtSecret: SECRET } } as AppConfig;
  const jwt = await token('acme', ['viewer', 'editor']);
  const n = ctx.smoke ? 2_000 : 20_000;
  // Distinct tokens (one subject each), so that every verification is a first one: the
  // verifier remembers tokens it has checked. Warm-up (JIT) on other tokens and a verifier of
  // its own.
  const fresh = await Promise.all(
    Array.from({ length: n }, (_, i) => token('acme', ['viewer', 'editor'], `user-${i}`)),
  );
  const warm = new JwtVerifier(config);
  for (let i = 0; i < Math.min(n, 5_000); i++) {
    await warm.verify(await token('acme', ['viewer'], `warm-${i}`));
  }
  const verifier = new JwtVerifier(config);
  let started = performance.now();
  for (const t of fresh) await verifier.verify(t);
  const verifyMs = performance.now() - started;
  await verifier.verify(jwt);
  started = performance.now();
  for (let i = 0; i < n; i++) await verifier.verify(jwt);
  const rememberedMs = performance.now() - started;
  let mismatches = 0;
  started = performance.now();
  for (let i = 0; i < n; i++) {
    const principal = await verifier.verify(jwt);
    if (
      principal.tenantId !== 'acme' ||
      !principal.roles.includes('viewer' as (typeof principal.roles)[number])
    )
      mismatches++;
  }
  const scopedMs = performance.now() - started;
  if (mismatches > 0) throw new Error('the verifier returned an unexpected principal');
  const options = { algorithms: ['HS256'], clockTolerance: 30, requiredClaims: ['sub', 'exp'] };
  const raw = new TextEncoder().encode(SECRET);
  const keyObject = createSecretKey(Buffer.from(SECRET));
  const timeJose = async (key: Uint8Array | KeyObject): Promise<number> => {
    for (let i = 0; i < Math.min(n, 5_000); i++) await jwtVerify(jwt, key, options);
    const t0 = performance.now();
    for (let i = 0; i < n; i++) await jwtVerify(jwt, key, options);
    return round(((performance.now() - t0) * 1000) / n, 1);
  };
  const joseUint8ArrayMicros = await timeJose(raw);
  const joseKeyObjectMicros = await timeJose(keyObject);
  const result = {
    joseUint8ArrayMicros,
    joseKeyObjectMicros,
    verifications: n,
    perVerifyMicros: round((verifyMs * 1000) / n, 1),
    perRememberedMicros: round((rememberedMs * 1000) / n, 2),
    verifiesPerSecond: Math.round(n / (verifyMs / 1000)),
    perVerifyAndScopeMicros: round((scopedMs * 1000) / n, 1),
  };
  ctx.log(
    `  JwtVerifier.verify: ${result.perVerifyMicros} µs per new token (${result.verifiesPerSecond}/s ` +
      `on one core), ${result.perRememberedMicros} µs remembered; jose with Uint8Array ${joseUint8ArrayMicros} µs, with a KeyObject ` +
      `${joseKeyObjectMicros} µs`,
  );
  return result;
}
