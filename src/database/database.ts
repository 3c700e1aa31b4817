import { Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import BetterSqlite3 from 'better-sqlite3';
import { Kysely, Migrator, SqliteDialect, sql } from 'kysely';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { AppConfig } from '../config/app-config';
import { migrations } from './migrations';
import type { DatabaseSchema } from './schema';

export type Db = Kysely<DatabaseSchema>;

/**
 * The service database: SQLite at DATA_DIR/registry.db by default. Migrations run at boot,
 * before the first request is accepted.
 */
@Injectable()
export class Database implements OnApplicationShutdown {
  private readonly logger = new Logger(Database.name);
  private closed = false;

  private constructor(readonly db: Db) {}

  static async open(config: AppConfig): Promise<Database> {
    mkdirSync(config.dataDir, { recursive: true });
    const file = join(config.dataDir, 'registry.db');
    const sqlite = new BetterSqlite3(file);
    // WAL lets readers proceed during a write; synchronous=FULL makes every commit durable,
    // which the audit trail and approvals need more than write speed.
    sqlite.pragma('journal_mode = WAL');
    sqlite.pragma('synchronous = FULL');
    sqlite.pragma('busy_timeout = 5000');
    sqlite.pragma('foreign_keys = ON');
    const db = new Kysely<DatabaseSchema>({ dialect: new SqliteDialect({ database: sqlite }) });
    const database = new Database(db);
    await database.migrate();
    return database;
  }

  private async migrate(): Promise<void> {
    const migrator = new Migrator({
      db: this.db,
      provider: { getMigrations: () => Promise.resolve(migrations) },
    });
    const { error, results } = await migrator.migrateToLatest();
    for (const result of results ?? []) {
      if (result.status === 'Success') this.logger.log(`migration ${result.migrationName} applied`);
      if (result.status === 'Error') this.logger.error(`migration ${result.migrationName} failed`);
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
