import { Kysely, PostgresDialect } from 'kysely';
import { Pool } from 'pg';
import { freshDatabase, proxiedDatabase } from '../../test/support/stack';
import type { TcpProxy } from '../../test/support/tcp-proxy';
import { timed } from '../../test/support/timed';
import { loadConfig } from '../config/app-config';
import { Database } from './database';
import { describeMigrationsOnExistingData } from './migrations.contract';
import type { DatabaseSchema } from './schema';

// What the whole service does when its database fails is test/database-outage.int-spec.ts.

describe('the service database on PostgreSQL, when it fails', () => {
  let databaseUrl: string;
  let proxy: TcpProxy;

  beforeAll(async () => {
    ({ databaseUrl, proxy } = await proxiedDatabase('outage'));
  });

  afterAll(async () => {
    await proxy.down();
  });

  describe('at boot', () => {
    const configFor = (url: string) =>
      loadConfig({
        DATA_DIR: '/tmp/unused-registry-data',
        AUTH_JWT_SECRET: 'x'.repeat(32),
        DATABASE_URL: url,
      });

    it('waits for a server that is not up yet', async () => {
      await proxy.down();
      setTimeout(() => void proxy.up(), 1_500);
      const { value: database, ms } = await timed(
        Database.open(configFor(proxy.through(databaseUrl)), { bootWaitMs: 10_000 }),
      );
      expect(ms).toBeGreaterThanOrEqual(1_000);
      await database.ping();
      await database.close();
    });

    it('four replicas booting at once on an empty database migrate it once, without error', async () => {
      const config = configFor(await freshDatabase('boot'));
      const opened = await Promise.all(Array.from({ length: 4 }, () => Database.open(config)));
      const names = await opened[0].db
        .selectFrom('kysely_migration' as never)
        .select('name' as never)
        .execute();
      expect(names.length).toBeGreaterThanOrEqual(2);
      for (const database of opened) await database.close();
    });

    it('gives up after the bounded wait, saying what it could not reach', async () => {
      await proxy.down();
      try {
        const { value: outcome, ms } = await timed(
          Database.open(configFor(proxy.through(databaseUrl)), { bootWaitMs: 3_000 }).then(
            () => new Error('opened'),
            (err: unknown) => err as Error,
          ),
        );
        expect(outcome.message).toMatch(
          /PostgreSQL at postgres:\/\/\w+@127\.0\.0\.1:\d+\/\w+ is not reachable \(waited \d s\)/,
        );
        expect(outcome.message).not.toMatch(/registry:registry|password/);
        expect(ms).toBeGreaterThanOrEqual(2_000);
        expect(ms).toBeLessThan(5_000);
      } finally {
        await proxy.up();
      }
    });

    it('fails at once when waiting cannot help (a database that does not exist)', async () => {
      const u = new URL(databaseUrl);
      u.pathname = '/no_such_database';
      const { value: outcome, ms } = await timed(
        Database.open(configFor(u.toString())).then(
          () => new Error('opened'),
          (err: unknown) => err as Error,
        ),
      );
      expect(outcome.message).toMatch(/refused the connection: database "no_such_database"/);
      expect(ms).toBeLessThan(2_000);
    });
  });
});

describeMigrationsOnExistingData('PostgreSQL', async () => {
  const db = new Kysely<DatabaseSchema>({
    dialect: new PostgresDialect({
      pool: new Pool({ connectionString: await freshDatabase('migrations'), max: 2 }),
    }),
  });
  return { db, teardown: () => db.destroy() };
});
