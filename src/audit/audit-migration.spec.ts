import BetterSqlite3 from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
import type { DatabaseSchema } from '../database/schema';
import { describeAuditChainMigration } from './audit-migration.contract';

describeAuditChainMigration('SQLite', () => {
  const db = new Kysely<DatabaseSchema>({
    dialect: new SqliteDialect({ database: new BetterSqlite3(':memory:') }),
  });
  return Promise.resolve({ db, dialect: 'sqlite', teardown: () => db.destroy() });
});
