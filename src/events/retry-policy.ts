import type { SendOutcome } from './webhook-sender';

/** The longest wait between two attempts, whatever the backoff or Retry-After says. */
const MAX_DELAY_MS = 60 * 60 * 1000;

export type Verdict =
  { kind: 'delivered' } | { kind: 'retry'; afterMs: number } | { kind: 'failed'; disable: boolean };

/** `Retry-After` as milliseconds from `now`: delta seconds or an HTTP date; undefined if neither. */
export function retryAfterMs(value: string | undefined, now: number): number | undefined {
  if (value === undefined) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/**
 * Exponential backoff with jitter: `base * 2^(attempt-1)`, at most an hour, then a random
 * point in its upper half (so that replicas and receivers coming back do not meet in step).
 */
export function backoffMs(attempt: number, baseMs: number, random = Math.random): number {
  const delay = Math.min(MAX_DELAY_MS, baseMs * 2 ** Math.min(30, attempt - 1));
  return Math.round(delay / 2 + (random() * delay) / 2);
}

/**
 * What an attempt's outcome means (the one place the delivery rules are written): 2xx is
 * delivered; a network error, 408, 429 and 5xx are retried (Retry-After honoured, capped at an
 * hour); 410 Gone fails the delivery and disables the webhook; anything else (a redirect, which
 * is never followed, another 4xx, a refused address) fails it.
 */
export function judge(outcome: SendOutcome, attempt: number, baseMs: number, now: number): Verdict {
  if (outcome.kind === 'refused') return { kind: 'failed', disable: false };
  if (outcome.kind === 'network') return { kind: 'retry', afterMs: backoffMs(attempt, baseMs) };
  const { status } = outcome;
  if (status >= 200 && status < 300) return { kind: 'delivered' };
  if (status === 410) return { kind: 'failed', disable: true };
  if (status === 408 || status === 429 || status >= 500) {
    const asked = retryAfterMs(outcome.retryAfter, now);
    const afterMs =
      asked !== undefined ? Math.min(MAX_DELAY_MS, asked) : backoffMs(attempt, baseMs);
    return { kind: 'retry', afterMs };
  }
  return { kind: 'failed', disable: false };
}
