import { Kysely, PostgresDialect } from 'kysely';
import { Pool } from 'pg';
import { freshDatabase } from '../../test/support/stack';
import type { DatabaseSchema } from '../database/schema';
import { describeAuditChainMigration } from './audit-migration.contract';

// A plain pg pool: bigint columns read back as strings here, which the migration must not hash.
describeAuditChainMigration('PostgreSQL', async () => {
  const db = new Kysely<DatabaseSchema>({
    dialect: new PostgresDialect({
      pool: new Pool({ connectionString: await freshDatabase('audit_migration'), max: 2 }),
    }),
  });
  return { db, dialect: 'postgres', teardown: () => db.destroy() };
});
