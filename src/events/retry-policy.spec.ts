import { backoffMs, judge, retryAfterMs } from './retry-policy';

const answered = (status: number, retryAfter?: string) =>
  ({ kind: 'answered', status, retryAfter, body: '' }) as const;

describe('judge (what an attempt means)', () => {
  const now = Date.parse('2025-03-15T10:00:00Z');

  it('2xx is delivered', () => {
    expect(judge(answered(200), 1, 1000, now)).toEqual({ kind: 'delivered' });
    expect(judge(answered(204), 1, 1000, now)).toEqual({ kind: 'delivered' });
  });

  it.each([408, 429, 500, 502, 503])('%s is retried', (status) => {
    expect(judge(answered(status), 1, 1000, now).kind).toBe('retry');
  });

  it('a network error is retried; a refused address is not', () => {
    expect(judge({ kind: 'network', error: 'ECONNREFUSED' }, 1, 1000, now).kind).toBe('retry');
    expect(judge({ kind: 'refused', error: 'private' }, 1, 1000, now)).toEqual({
      kind: 'failed',
      disable: false,
    });
  });

  it('410 fails and disables; a redirect or another 4xx fails', () => {
    expect(judge(answered(410), 1, 1000, now)).toEqual({ kind: 'failed', disable: true });
    expect(judge(answered(302), 1, 1000, now)).toEqual({ kind: 'failed', disable: false });
    expect(judge(answered(404), 1, 1000, now)).toEqual({ kind: 'failed', disable: false });
  });

  it('honours Retry-After, in seconds or as a date, capped at an hour', () => {
    expect(judge(answered(503, '7'), 1, 1000, now)).toEqual({ kind: 'retry', afterMs: 7000 });
    expect(judge(answered(429, 'Sat, 15 Mar 2025 10:00:30 GMT'), 1, 1000, now)).toEqual({
      kind: 'retry',
      afterMs: 30_000,
    });
    expect(judge(answered(503, '86400'), 1, 1000, now)).toEqual({
      kind: 'retry',
      afterMs: 3_600_000,
    });
    expect(retryAfterMs('soon', now)).toBeUndefined();
  });
});

describe('backoffMs', () => {
  it('doubles per attempt, jittered within the upper half, at most an hour', () => {
    expect(backoffMs(1, 1000, () => 0)).toBe(500);
    expect(backoffMs(1, 1000, () => 1)).toBe(1000);
    expect(backoffMs(4, 1000, () => 1)).toBe(8000);
    expect(backoffMs(40, 1000, () => 1)).toBe(3_600_000);
  });
});
