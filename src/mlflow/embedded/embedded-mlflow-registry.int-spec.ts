import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { freshDatabase, stack } from '../../../test/support/stack';
import { loadConfig } from '../../config/app-config';
import { Database } from '../../database/database';
import { describeMlflowRegistryContract } from '../mlflow-registry.contract';
import { Stage } from '../registry-types';
import { EmbeddedMlflowRegistry } from './embedded-mlflow-registry';

const openOnPostgres = async (databaseUrl: string) =>
  Database.open(
    loadConfig({
      DATA_DIR: '/tmp/unused-registry-data',
      AUTH_JWT_SECRET: 'x'.repeat(32),
      DATABASE_URL: databaseUrl,
    }),
  );

/**
 * A database whose default collation sorts like a human (ICU en-US: case-insensitive first,
 * punctuation ignored), where SQLite sorts by code point; falls back to a plain database when
 * the server has no ICU.
 */
async function humanCollatedDatabase(): Promise<string> {
  const url = new URL(stack().databaseUrl);
  const name = `icu_${randomUUID().slice(0, 8)}`;
  const client = new Client({ connectionString: url.toString() });
  await client.connect();
  try {
    await client.query(
      `CREATE DATABASE "${name}" TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'en-US' LOCALE 'C.UTF-8'`,
    );
  } catch {
    return freshDatabase('replicas');
  } finally {
    await client.end();
  }
  url.pathname = `/${name}`;
  return url.toString();
}

describeMlflowRegistryContract('embedded (PostgreSQL)', async () => {
  const database = await openOnPostgres(await freshDatabase('contract'));
  return {
    registry: new EmbeddedMlflowRegistry(database),
    teardown: () => database.close(),
  };
});

/**
 * Two pools on one database are two replicas: PostgreSQL runs their transactions at READ
 * COMMITTED, side by side, where SQLite's single connection would run them one by one.
 */
describe('embedded registry on PostgreSQL, shared by two replicas', () => {
  let one: Database;
  let two: Database;
  let a: EmbeddedMlflowRegistry;
  let b: EmbeddedMlflowRegistry;
  const tenant = 'acme';

  beforeAll(async () => {
    const url = await humanCollatedDatabase();
    [one, two] = await Promise.all([openOnPostgres(url), openOnPostgres(url)]);
    a = new EmbeddedMlflowRegistry(one);
    b = new EmbeddedMlflowRegistry(two);
  });

  afterAll(async () => {
    await one.close();
    await two.close();
  });

  const source = (name: string) => ({ source: `file:///tmp/${name}/model.pkl` });

  it('numbers racing new versions 1..n, never twice', async () => {
    await a.createRegisteredModel(tenant, { name: 'race' });
    const made = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        (i % 2 === 0 ? a : b).createModelVersion(tenant, 'race', source('race')),
      ),
    );
    expect(made.map((v) => v.version).sort((x, y) => x - y)).toEqual(
      Array.from({ length: 20 }, (_, i) => i + 1),
    );
  });

  it('racing transitions to production with archive_existing_versions leave one version there', async () => {
    await a.createRegisteredModel(tenant, { name: 'stages' });
    for (let i = 0; i < 6; i++) await a.createModelVersion(tenant, 'stages', source('stages'));
    for (let round = 0; round < 5; round++) {
      await Promise.all(
        Array.from({ length: 6 }, (_, i) =>
          (i % 2 === 0 ? a : b).transitionModelVersionStage(
            tenant,
            'stages',
            i + 1,
            Stage.Production,
            true,
          ),
        ),
      );
      const inProduction = await b.searchModelVersions(tenant, 'stages', {
        stage: Stage.Production,
      });
      expect(inProduction).toHaveLength(1);
    }
  });

  it('a version created while its model is deleted does not outlive the model', async () => {
    for (let round = 0; round < 10; round++) {
      const name = `doomed-${round}`;
      await a.createRegisteredModel(tenant, { name });
      await a.createModelVersion(tenant, name, source(name));
      await Promise.allSettled([
        b.createModelVersion(tenant, name, source(name)),
        a.deleteRegisteredModel(tenant, name),
      ]);
      const orphans = await one.db
        .selectFrom('reg_versions')
        .leftJoin('reg_models', 'reg_models.id', 'reg_versions.model_id')
        .select('reg_versions.version')
        .where('reg_models.id', 'is', null)
        .execute();
      expect(orphans).toEqual([]);
    }
  });

  it('lists model names in code point order, as on SQLite, whatever the database locale', async () => {
    const names = ['b-model', 'B-model', 'a_model', 'a-model', 'Zeta', 'alpha', 'ähnlich', 'ab'];
    for (const name of names) await a.createRegisteredModel('sorting', { name });
    const first = await b.searchRegisteredModels('sorting', { maxResults: 3 });
    const rest = await b.searchRegisteredModels('sorting', {
      maxResults: 100,
      pageToken: first.nextPageToken,
    });
    const listed = [...first.items, ...rest.items].map((m) => m.name);
    expect(listed).toEqual([...names].sort());
  });

  it('reads bigint columns back as numbers', async () => {
    const created = await a.createRegisteredModel('types', { name: 'typed' });
    expect(typeof created.createdAt).toBe('number');
    const row = await one.db
      .selectFrom('reg_models')
      .select(['created_at', 'last_updated_at', 'next_version'])
      .where('tenant_id', '=', 'types')
      .executeTakeFirstOrThrow();
    expect(typeof row.created_at).toBe('number');
    expect(typeof row.last_updated_at).toBe('number');
    expect(row.next_version).toBe(1);
    const { count } = await one.db
      .selectFrom('reg_models')
      .select((eb) => eb.fn.countAll<number>().as('count'))
      .executeTakeFirstOrThrow();
    expect(typeof count).toBe('number');
  });
});
