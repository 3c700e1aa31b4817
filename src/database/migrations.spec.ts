import BetterSqlite3 from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
import { describeMigrationsOnExistingData } from './migrations.contract';
import type { DatabaseSchema } from './schema';

describeMigrationsOnExistingData('SQLite', () => {
  const db = new Kysely<DatabaseSchema>({
    dialect: new SqliteDialect({ database: new BetterSqlite3(':memory:') }),
  });
  return Promise.resolve({ db, teardown: () => db.destroy() });
});
