import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { Interval } from '@nestjs/schedule';
import type { Response } from 'express';
import { AppConfig } from '../../config/app-config';
import { ErrorCode } from '../errors/error-code';
import { RegistryError } from '../errors/registry-error';
import type { AuthenticatedRequest } from './auth.guard';
import type { Principal } from './principal';

interface Bucket {
  tokens: number;
  updated: number;
}

/** Buckets idle long enough to be full again are dropped this often. */
const PRUNE_INTERVAL_MS = 60_000;

/**
 * Per-user rate limit (OWASP API4): a token bucket per tenant and subject holding a minute's
 * worth of requests (RATE_LIMIT_PER_MINUTE), refilled continuously. Over it: 429 with
 * Retry-After (seconds until one request is allowed again). Every limited answer carries
 * `RateLimit-Limit` and `RateLimit-Remaining`. Runs after authentication, so the limit is the
 * user's, whatever address they call from; health and docs are not limited. The buckets live in
 * this process: with N replicas behind a balancer a user gets up to N times the limit.
 */
@Injectable()
export class RateLimitGuard implements CanActivate {
  private readonly buckets = new Map<string, Bucket>();
  /**
   * A principal's bucket key, made once: a remembered token yields the same (frozen) principal
   * for every request that presents it.
   */
  private readonly keys = new WeakMap<Principal, string>();
  private readonly limit: number;
  private readonly limitHeader: string;
  private readonly perMs: number;

  constructor(config: AppConfig) {
    this.limit = config.rateLimitPerMinute;
    this.limitHeader = String(this.limit);
    this.perMs = this.limit / 60_000;
  }

  canActivate(context: ExecutionContext): boolean {
    const http = context.switchToHttp();
    const principal = http.getRequest<AuthenticatedRequest>().principal;
    if (this.limit === 0 || principal === undefined) return true;
    let key = this.keys.get(principal);
    if (key === undefined) {
      key = `${principal.tenantId}\u0000${principal.subject}`;
      this.keys.set(principal, key);
    }
    const now = Date.now();
    let bucket = this.buckets.get(key);
    if (bucket === undefined) {
      bucket = { tokens: this.limit, updated: now };
      this.buckets.set(key, bucket);
    }
    bucket.tokens = Math.min(this.limit, bucket.tokens + (now - bucket.updated) * this.perMs);
    bucket.updated = now;
    const res = http.getResponse<Response>();
    res.setHeader('RateLimit-Limit', this.limitHeader);
    if (bucket.tokens < 1) {
      const wait = Math.max(1, Math.ceil((1 - bucket.tokens) / this.perMs / 1000));
      res.setHeader('RateLimit-Remaining', '0');
      res.setHeader('RateLimit-Reset', String(wait));
      throw new RegistryError(
        ErrorCode.RateLimited,
        `rate limit of ${this.limit} requests per minute exceeded; retry in ${wait} s`,
        undefined,
        wait,
      );
    }
    bucket.tokens -= 1;
    res.setHeader('RateLimit-Remaining', String(Math.floor(bucket.tokens)));
    return true;
  }

  /** Drops the buckets idle long enough to be full again. */
  @Interval('rate-limit-prune', PRUNE_INTERVAL_MS)
  prune(now = Date.now()): void {
    for (const [key, bucket] of this.buckets) {
      if (bucket.tokens + (now - bucket.updated) * this.perMs >= this.limit) {
        this.buckets.delete(key);
      }
    }
  }
}
