import type { PostgresPool, PostgresPoolClient, PostgresQueryResult } from 'kysely';
import { CustomTypesConfig, Pool, PoolClient, PoolConfig, types } from 'pg';
import { RegistryError } from '../common/errors/registry-error';
import { isConnectionLost, isDatabaseUnavailable, isUnstorableText } from './connection-errors';

/**
 * Connection settings for the service database on PostgreSQL. Every wait is bounded, so a
 * database that stops answering turns requests into 503s instead of hanging them:
 *  - connectionTimeoutMillis bounds both opening a connection and waiting for a free one;
 *  - statement_timeout makes the server cancel a statement that runs too long (57014);
 *  - query_timeout is the client's own bound for a server that does not answer at all (the
 *    network or the host is gone), a little longer than statement_timeout so a live server
 *    always answers first; the connection it fired on is then discarded;
 *  - idle_in_transaction_session_timeout frees row locks held by a process that hangs mid-
 *    transaction.
 * Row-lock waits count against statement_timeout too. The pool reconnects by itself: a
 * connection the server dropped is removed, and the next checkout opens a new one.
 */
export const POSTGRES_POOL = {
  max: 10,
  connectionTimeoutMillis: 5_000,
  idleTimeoutMillis: 30_000,
  statementTimeoutMs: 5_000,
  queryTimeoutMs: 8_000,
  idleInTransactionTimeoutMs: 60_000,
  /** How long the boot waits for the server to answer before it fails. */
  bootWaitMs: 30_000,
} as const;

/**
 * bigint (int8) and numeric arrive from node-postgres as strings (they may not fit a double);
 * the times here are milliseconds and the counts small, so they are numbers, as on SQLite.
 * Set per pool, not with the process-wide types.setTypeParser.
 */
const AS_NUMBER = new Set<number>([types.builtins.INT8, types.builtins.NUMERIC]);
const parseNumber = (value: string): number => Number(value);

function getTypeParser(oid: number, format?: 'text' | 'binary'): unknown {
  if (AS_NUMBER.has(oid) && format !== 'binary') return parseNumber;
  return types.getTypeParser(oid, format) as unknown;
}

export const numericTypes: CustomTypesConfig = {
  getTypeParser: getTypeParser as CustomTypesConfig['getTypeParser'],
};

/** `postgres://user@host:port/db` without the password, for messages and logs. */
export function describeUrl(url: string): string {
  try {
    const u = new URL(url);
    u.password = '';
    return `${u.protocol}//${u.username ? `${u.username}@` : ''}${u.host}${u.pathname}`;
  } catch {
    return 'DATABASE_URL';
  }
}

export function createPool(
  connectionString: string,
  options: { statementTimeouts: boolean; max?: number },
): Pool {
  const config: PoolConfig = {
    connectionString,
    max: options.max ?? POSTGRES_POOL.max,
    connectionTimeoutMillis: POSTGRES_POOL.connectionTimeoutMillis,
    idleTimeoutMillis: POSTGRES_POOL.idleTimeoutMillis,
    keepAlive: true,
    keepAliveInitialDelayMillis: 10_000,
    application_name: 'model-registry',
    types: numericTypes,
  };
  if (options.statementTimeouts) {
    config.statement_timeout = POSTGRES_POOL.statementTimeoutMs;
    config.query_timeout = POSTGRES_POOL.queryTimeoutMs;
    config.idle_in_transaction_session_timeout = POSTGRES_POOL.idleInTransactionTimeoutMs;
  }
  return new Pool(config);
}

/**
 * What a failed query means to the rest of the service. A database that cannot answer now
 * (connection refused, lost or timed out, statement timeout, overload, a deadlock) becomes
 * RegistryError.unavailable, a 503 with Retry-After, like any other backend that is down;
 * text PostgreSQL cannot store (NUL characters, which SQLite takes) is the request's fault, a
 * 400. Anything else (a unique violation the caller handles, a bug) stays as it is.
 */
export function translateError(err: unknown): unknown {
  let translated: RegistryError | undefined;
  if (isDatabaseUnavailable(err)) translated = RegistryError.unavailable('the service database');
  else if (isUnstorableText(err)) {
    translated = RegistryError.validation(
      'text values may not contain the NUL character (\\u0000)',
    );
  }
  if (translated === undefined) return err;
  translated.cause = err; // the log keeps what the driver said
  return translated;
}

/**
 * The pool as Kysely sees it, with two changes. Errors are translated (translateError), so a
 * database outage answers 503 wherever the query was made. And a connection whose last query
 * failed because the connection itself broke (or never answered: query_timeout) is destroyed
 * when released instead of going back to the pool: Kysely releases connections without saying
 * why, and node-postgres would otherwise hand the next request a client still waiting for the
 * lost answer.
 */
export class GuardedPool implements PostgresPool {
  constructor(readonly pool: Pool) {}

  async connect(): Promise<PostgresPoolClient> {
    let client: PoolClient;
    try {
      client = await this.pool.connect();
    } catch (err) {
      throw translateError(err);
    }
    let broken: Error | undefined;
    // pg-pool listens for errors only on idle clients; one that breaks while checked out but
    // between two queries (inside a transaction) would emit an 'error' nobody hears, which
    // ends the process. Heard here, it marks the client for destruction.
    const onError = (err: Error) => {
      broken = err;
    };
    client.on('error', onError);
    const query = async <R>(
      sql: string,
      parameters: ReadonlyArray<unknown>,
    ): Promise<PostgresQueryResult<R>> => {
      try {
        const result = await client.query(sql, parameters as unknown[]);
        return result as unknown as PostgresQueryResult<R>;
      } catch (err) {
        if (isConnectionLost(err)) broken = err instanceof Error ? err : new Error(String(err));
        throw translateError(err);
      }
    };
    return {
      query: query as PostgresPoolClient['query'],
      release: (destroy?: boolean) => {
        // A client going back to the pool is watched by the pool again; one being destroyed
        // keeps this listener, for whatever it still emits on its way out.
        if (broken === undefined && destroy !== true) client.removeListener('error', onError);
        client.release(broken ?? destroy === true);
      },
    };
  }

  end(): Promise<void> {
    return this.pool.end();
  }
}

/** An error's message, or its code when it has none (an AggregateError of refused addresses). */
export function describeError(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const code = (err as { code?: unknown }).code;
  const cause = err.cause instanceof Error ? ` (${err.cause.message})` : '';
  return (err.message || (typeof code === 'string' ? code : err.name)) + cause;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Waits until the server answers, for at most `waitMs`: a database that is still starting (or
 * a network not up yet) does not fail the boot at once. Errors that waiting cannot fix (wrong
 * password, no such database) fail it at once.
 */
export async function waitForPostgres(
  pool: Pool,
  url: string,
  waitMs: number,
  onRetry: (message: string) => void,
): Promise<void> {
  const started = Date.now();
  for (;;) {
    try {
      const client = await pool.connect();
      try {
        await client.query('select 1');
      } finally {
        client.release();
      }
      return;
    } catch (err) {
      const reason = describeError(err);
      if (!isDatabaseUnavailable(err)) {
        throw new Error(`PostgreSQL at ${describeUrl(url)} refused the connection: ${reason}`, {
          cause: err,
        });
      }
      const elapsed = Date.now() - started;
      if (elapsed + 1000 > waitMs) {
        throw new Error(
          `PostgreSQL at ${describeUrl(url)} is not reachable (waited ${Math.round(elapsed / 1000)} s): ` +
            `${reason}. Check DATABASE_URL and that the server is up.`,
          { cause: err },
        );
      }
      onRetry(`PostgreSQL at ${describeUrl(url)} is not reachable yet (${reason}); retrying`);
      await sleep(1000);
    }
  }
}
