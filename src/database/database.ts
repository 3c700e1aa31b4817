import { Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import BetterSqlite3 from 'better-sqlite3';
import { Kysely, Migrator, PostgresDialect, SqliteDialect, sql, type LogEvent } from 'kysely';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Pool } from 'pg';
import { AppConfig } from '../config/app-config';
import { migrations } from './migrations';
import {
  createPool,
  describeError,
  describeUrl,
  GuardedPool,
  POSTGRES_POOL,
  waitForPostgres,
} from './postgres';
import type { DatabaseSchema } from './schema';

export type Db = Kysely<DatabaseSchema>;

export type DatabaseDialect = 'sqlite' | 'postgres';

export interface DatabaseOpenOptions {
  /** PostgreSQL only: how long the boot waits for the server to answer (default 30 s). */
  bootWaitMs?: number;
  /** Told of every query the service makes (on SQLite the migrations' too). */
  onQuery?: QueryObserver;
}

/** A query's kind (`select`, `insert`, `update`, `delete`, `begin`, ...), outcome and duration. */
export type QueryObserver = (operation: string, ok: boolean, durationMs: number) => void;

const RAW_STATEMENTS = new Set([
  'select',
  'insert',
  'update',
  'delete',
  'begin',
  'commit',
  'rollback',
]);

const QUERY_KINDS: Partial<Record<string, string>> = {
  SelectQueryNode: 'select',
  InsertQueryNode: 'insert',
  UpdateQueryNode: 'update',
  DeleteQueryNode: 'delete',
};

/** A bounded name for what a query does: its node's kind, or a raw statement's first word. */
function operationOf(event: LogEvent): string {
  const kind = QUERY_KINDS[event.query.query.kind];
  if (kind !== undefined) return kind;
  const word = /^\s*([A-Za-z]+)/.exec(event.query.sql)?.[1]?.toLowerCase();
  return word !== undefined && RAW_STATEMENTS.has(word) ? word : 'other';
}

function kyselyLog(observer: QueryObserver | undefined): ((event: LogEvent) => void) | undefined {
  if (observer === undefined) return undefined;
  return (event) =>
    observer(operationOf(event), event.level === 'query', event.queryDurationMillis);
}

/**
 * The service database: PostgreSQL when DATABASE_URL is set (several replicas share it), SQLite
 * at DATA_DIR/registry.db otherwise. Migrations run at boot, before the first request is
 * accepted; on PostgreSQL under Kysely's advisory lock, so replicas booting together run each
 * migration once.
 */
@Injectable()
export class Database implements OnApplicationShutdown {
  private static readonly logger = new Logger(Database.name);
  private closed = false;

  private constructor(
    readonly db: Db,
    readonly dialect: DatabaseDialect,
  ) {}

  /**
   * Runs `work` in one transaction: everything it writes through `trx` commits together, or
   * nothing does (a throw rolls back and is rethrown). The one way a feature makes several
   * writes atomic (repositories take the `trx` as their `db` argument).
   */
  transaction<T>(work: (trx: Db) => Promise<T>): Promise<T> {
    return this.db.transaction().execute(work);
  }

  /**
   * Whether this process is the only one using the service's data: on SQLite, whose file in
   * DATA_DIR one process owns (several replicas need PostgreSQL). Then whatever the database
   * shows in progress when the process starts (an upload, a registration's lock or claim) was
   * left by a process that died, and can be cleared before the service listens; replicas
   * sharing PostgreSQL cannot tell a dead process's work from another replica's and wait for
   * it to grow old.
   */
  get singleProcess(): boolean {
    return this.dialect === 'sqlite';
  }

  static open(config: AppConfig, options: DatabaseOpenOptions = {}): Promise<Database> {
    return config.databaseUrl !== undefined
      ? Database.openPostgres(
          config.databaseUrl,
          options.bootWaitMs ?? POSTGRES_POOL.bootWaitMs,
          options.onQuery,
        )
      : Database.openSqlite(config.dataDir, options.onQuery);
  }

  private static async openSqlite(dataDir: string, onQuery?: QueryObserver): Promise<Database> {
    mkdirSync(dataDir, { recursive: true });
    const file = join(dataDir, 'registry.db');
    const sqlite = new BetterSqlite3(file);
    // WAL lets readers proceed during a write; synchronous=FULL makes every commit durable,
    // which the audit trail and approvals need more than write speed.
    sqlite.pragma('journal_mode = WAL');
    sqlite.pragma('synchronous = FULL');
    sqlite.pragma('busy_timeout = 5000');
    sqlite.pragma('foreign_keys = ON');
    const db = new Kysely<DatabaseSchema>({
      dialect: new SqliteDialect({ database: sqlite }),
      log: kyselyLog(onQuery),
    });
    const database = new Database(db, 'sqlite');
    await Database.migrate(db);
    return database;
  }

  private static async openPostgres(
    url: string,
    bootWaitMs: number,
    onQuery?: QueryObserver,
  ): Promise<Database> {
    // Migrations get a pool of their own without statement timeouts: a replica waiting for
    // another one's migrations waits on the advisory lock, and DDL may take a while.
    const migrationPool = createPool(url, { statementTimeouts: false, max: 2 });
    Database.watch(migrationPool);
    const migrationDb = new Kysely<DatabaseSchema>({
      dialect: new PostgresDialect({ pool: new GuardedPool(migrationPool) }),
    });
    try {
      await waitForPostgres(migrationPool, url, bootWaitMs, (message) =>
        Database.logger.warn(message),
      );
      try {
        await Database.migrate(migrationDb);
      } catch (err) {
        throw new Error(
          `migrating the service database at ${describeUrl(url)} failed: ${describeError(err)}`,
          { cause: err },
        );
      }
    } finally {
      await migrationDb.destroy();
    }
    const pool = createPool(url, { statementTimeouts: true });
    Database.watch(pool);
    const db = new Kysely<DatabaseSchema>({
      dialect: new PostgresDialect({ pool: new GuardedPool(pool) }),
      log: kyselyLog(onQuery),
    });
    Database.logger.log(`service database: PostgreSQL at ${describeUrl(url)}`);
    return new Database(db, 'postgres');
  }

  /**
   * An idle connection the server drops (a restart, a failover) makes the pool emit 'error';
   * unheard, that would end the process. The pool has already removed that connection and
   * opens a new one on the next checkout.
   */
  private static watch(pool: Pool): void {
    pool.on('error', (err) => {
      Database.logger.warn(`an idle database connection was closed: ${err.message}`);
    });
  }

  private static async migrate(db: Db): Promise<void> {
    const migrator = new Migrator({
      db,
      provider: { getMigrations: () => Promise.resolve(migrations) },
    });
    const { error, results } = await migrator.migrateToLatest();
    for (const result of results ?? []) {
      if (result.status === 'Success') {
        Database.logger.log(`migration ${result.migrationName} applied`);
      }
      if (result.status === 'Error') {
        Database.logger.error(`migration ${result.migrationName} failed`);
      }
    }
    if (error) throw error instanceof Error ? error : new Error('migration failed');
  }

  /** Readiness probe: a round trip to the database. */
  async ping(): Promise<void> {
    await sql`select 1`.execute(this.db);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.db.destroy();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.close();
  }
}
