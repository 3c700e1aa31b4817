/*
 * How a failure of the service database is told apart from a bug. node-postgres reports a lost
 * or refused connection with Node's socket codes, PostgreSQL's SQLSTATE codes or a few fixed
 * messages (pg and pg-pool have no codes for those); an error may also wrap its cause.
 */

/** Socket errors: the server is down, restarting, or unreachable. */
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EHOSTDOWN',
  'ENETDOWN',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ECONNABORTED',
]);

/**
 * SQLSTATEs of a server that went away: admin_shutdown, crash_shutdown, cannot_connect_now
 * (starting up, shutting down, in recovery). Class 08 (connection exception) is matched whole.
 */
const CONNECTION_SQLSTATES = new Set(['57P01', '57P02', '57P03']);

/**
 * SQLSTATEs that say "not now" on a live connection: query_canceled (statement_timeout),
 * too_many_connections, serialization_failure and deadlock_detected. A retry may succeed.
 */
const BUSY_SQLSTATES = new Set(['57014', '53300', '40001', '40P01']);

/** Messages of node-postgres and pg-pool for a connection that broke or never came. */
const CONNECTION_MESSAGES = [
  /^Connection terminated/, // "... unexpectedly", "... due to connection timeout"
  /^timeout exceeded when trying to connect$/, // pg-pool: connectionTimeoutMillis
  /^Query read timeout$/, // query_timeout: the server did not answer at all
  /^Client has encountered a connection error and is not queryable$/,
  /^Connection ended unexpectedly$/,
  /^the database system is (starting up|shutting down|in recovery mode)/,
];

interface ErrorLike {
  code?: unknown;
  message?: unknown;
  cause?: unknown;
  errors?: unknown;
}

function some(err: unknown, test: (e: ErrorLike) => boolean, depth = 0): boolean {
  if (typeof err !== 'object' || err === null || depth > 4) return false;
  const e = err as ErrorLike;
  if (test(e)) return true;
  // AggregateError (a host with several addresses refused them all) and wrapped causes.
  if (Array.isArray(e.errors) && e.errors.some((inner) => some(inner, test, depth + 1))) {
    return true;
  }
  return e.cause !== undefined && e.cause !== err && some(e.cause, test, depth + 1);
}

/**
 * True when the connection the error came from is broken (or could not be made): the client
 * must not be reused, and the database counts as unavailable.
 */
export function isConnectionLost(err: unknown): boolean {
  return some(err, (e) => {
    if (typeof e.code === 'string') {
      if (NETWORK_CODES.has(e.code) || CONNECTION_SQLSTATES.has(e.code)) return true;
      if (/^08[0-9A-Z]{3}$/.test(e.code)) return true;
    }
    return (
      typeof e.message === 'string' &&
      CONNECTION_MESSAGES.some((re) => re.test(e.message as string))
    );
  });
}

/**
 * True when the database could not serve the request for now (connection lost, refused or timed
 * out, statement timeout, overload, a conflict worth retrying): the answer is a 503 with
 * Retry-After, not a 500.
 */
export function isDatabaseUnavailable(err: unknown): boolean {
  return (
    isConnectionLost(err) ||
    some(err, (e) => typeof e.code === 'string' && BUSY_SQLSTATES.has(e.code))
  );
}

/**
 * True when PostgreSQL refused a text value: it cannot store the NUL character (\u0000), which
 * SQLite accepts. The request is at fault (400), not the server.
 */
export function isUnstorableText(err: unknown): boolean {
  return some(err, (e) => e.code === '22021' || e.code === '22P05');
}
