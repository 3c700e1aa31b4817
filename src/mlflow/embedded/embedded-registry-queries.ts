import { sql, type ExpressionBuilder, type Selectable } from 'kysely';
import { Db } from '../../database/database';
import type { DatabaseSchema, RegModelsTable, RegVersionsTable } from '../../database/schema';
import { modelNotFound, versionNotFound } from '../registry-errors';
import { LatestVersion, ModelVersionRecord, RegisteredModelRecord, Stage } from '../registry-types';

type ModelRow = Selectable<RegModelsTable>;
type VersionRow = Selectable<RegVersionsTable>;

/** A model's row with the newest version number it has in each stage (null: none there). */
type ModelRowWithLatest = ModelRow & {
  latest_none: number | null;
  latest_staging: number | null;
  latest_production: number | null;
  latest_archived: number | null;
  /** The model's tags as one JSON object (SQLite: '{}' when none; PostgreSQL: null). */
  tags_json: string | null;
  /** The model's aliases as one JSON object of version numbers (as tags_json). */
  aliases_json: string | null;
};

/**
 * The embedded registry's reads of models and versions, and its rows as the port's records.
 * `postgres`: rows are locked FOR UPDATE (SQLite has none, nor needs it: one connection runs
 * one transaction at a time), and tags are aggregated with json_object_agg.
 */
export class EmbeddedRegistryQueries {
  constructor(
    private readonly db: Db,
    private readonly postgres: boolean,
  ) {}

  async findModel(db: Db, tenant: string, name: string): Promise<ModelRow> {
    const row = await db
      .selectFrom('reg_models')
      .selectAll()
      .where('tenant_id', '=', tenant)
      .where('name', '=', name)
      .executeTakeFirst();
    if (!row) throw modelNotFound(name);
    return row;
  }

  /** findModel, holding the model's row lock until the transaction `trx` ends (PostgreSQL). */
  async lockModel(trx: Db, tenant: string, name: string): Promise<ModelRow> {
    if (!this.postgres) return this.findModel(trx, tenant, name);
    const row = await trx
      .selectFrom('reg_models')
      .selectAll()
      .where('tenant_id', '=', tenant)
      .where('name', '=', name)
      .forUpdate()
      .executeTakeFirst();
    if (!row) throw modelNotFound(name);
    return row;
  }

  async requireVersion(db: Db, model: ModelRow, version: number): Promise<void> {
    const row = await db
      .selectFrom('reg_versions')
      .select('version')
      .where('model_id', '=', model.id)
      .where('version', '=', version)
      .executeTakeFirst();
    if (!row) throw versionNotFound(model.name, version);
  }

  /**
   * Models' rows with their newest version in each stage and their tags, in one query: one
   * indexed max() per stage (reg_versions_stage is (model_id, stage, version)) instead of a
   * second query grouping every version of the page's models (a third of a list page's time
   * at 10,000 models; BENCHMARKS.md §4), and the tags aggregated into a JSON object per model
   * (from the tags' primary key, (model_id, key)) instead of a third query.
   */
  selectModelsWithLatest() {
    const tagsOf = (eb: ExpressionBuilder<DatabaseSchema, 'reg_models'>) => {
      const [key, value] = [sql.ref('t.key'), sql.ref('t.value')];
      const aggregate = this.postgres
        ? sql<string | null>`json_object_agg(${key}, ${value})::text`
        : sql<string | null>`json_group_object(${key}, ${value})`;
      return eb
        .selectFrom('reg_model_tags as t')
        .select(aggregate.as('tags'))
        .whereRef('t.model_id', '=', 'reg_models.id');
    };
    const aliasesOf = (eb: ExpressionBuilder<DatabaseSchema, 'reg_models'>) => {
      const [alias, version] = [sql.ref('a.alias'), sql.ref('a.version')];
      const aggregate = this.postgres
        ? sql<string | null>`json_object_agg(${alias}, ${version})::text`
        : sql<string | null>`json_group_object(${alias}, ${version})`;
      return eb
        .selectFrom('reg_aliases as a')
        .select(aggregate.as('aliases'))
        .whereRef('a.model_id', '=', 'reg_models.id');
    };
    const newestIn = (eb: ExpressionBuilder<DatabaseSchema, 'reg_models'>, stage: Stage) =>
      eb
        .selectFrom('reg_versions as v')
        .select((v) => v.fn.max<number>('v.version').as('newest'))
        .whereRef('v.model_id', '=', 'reg_models.id')
        .where('v.stage', '=', stage);
    return this.db
      .selectFrom('reg_models')
      .selectAll('reg_models')
      .select((eb) => [
        newestIn(eb, Stage.None).as('latest_none'),
        newestIn(eb, Stage.Staging).as('latest_staging'),
        newestIn(eb, Stage.Production).as('latest_production'),
        newestIn(eb, Stage.Archived).as('latest_archived'),
        tagsOf(eb).as('tags_json'),
        aliasesOf(eb).as('aliases_json'),
      ]);
  }

  toModelRecords(rows: ModelRowWithLatest[]): RegisteredModelRecord[] {
    return rows.map((r) => {
      const latestVersions: LatestVersion[] = [];
      const add = (version: number | null, stage: Stage): void => {
        if (version !== null) latestVersions.push({ version: Number(version), stage });
      };
      add(r.latest_none, Stage.None);
      add(r.latest_staging, Stage.Staging);
      add(r.latest_production, Stage.Production);
      add(r.latest_archived, Stage.Archived);
      return {
        name: r.name,
        description: r.description,
        tags: r.tags_json === null ? {} : (JSON.parse(r.tags_json) as Record<string, string>),
        createdAt: Number(r.created_at),
        lastUpdatedAt: Number(r.last_updated_at),
        latestVersions: latestVersions.sort((a, b) => a.version - b.version),
        aliases: sortedAliases(r.aliases_json),
      };
    });
  }

  /** The aliases of a model's versions (of one version, when given), sorted, by version. */
  private async aliasesByVersion(
    modelId: number,
    version?: number,
  ): Promise<Map<number, string[]>> {
    let q = this.db
      .selectFrom('reg_aliases')
      .select(['alias', 'version'])
      .where('model_id', '=', modelId)
      .orderBy('alias');
    if (version !== undefined) q = q.where('version', '=', version);
    const out = new Map<number, string[]>();
    for (const row of await q.execute()) {
      const v = Number(row.version);
      out.set(v, [...(out.get(v) ?? []), row.alias]);
    }
    return out;
  }

  async toVersionRecords(name: string, rows: VersionRow[]): Promise<ModelVersionRecord[]> {
    if (rows.length === 0) return [];
    const modelId = rows[0].model_id;
    let tagQuery = this.db
      .selectFrom('reg_version_tags')
      .selectAll()
      .where('model_id', '=', modelId);
    if (rows.length === 1) tagQuery = tagQuery.where('version', '=', rows[0].version);
    const [tagRows, aliases] = await Promise.all([
      tagQuery.execute(),
      this.aliasesByVersion(modelId, rows.length === 1 ? rows[0].version : undefined),
    ]);
    const tags = new Map<number, Record<string, string>>();
    for (const t of tagRows) {
      const entry = tags.get(t.version) ?? {};
      entry[t.key] = t.value;
      tags.set(t.version, entry);
    }
    return rows.map((r) => ({
      name,
      version: r.version,
      stage: r.stage as Stage,
      description: r.description,
      source: r.source,
      runId: r.run_id,
      tags: tags.get(r.version) ?? {},
      aliases: aliases.get(r.version) ?? [],
      createdAt: Number(r.created_at),
      lastUpdatedAt: Number(r.last_updated_at),
    }));
  }
}

/** An aggregated aliases object, its keys in order (the database's aggregate order is not). */
function sortedAliases(json: string | null): Record<string, number> {
  const parsed = json === null ? {} : (JSON.parse(json) as Record<string, number>);
  const out: Record<string, number> = {};
  for (const alias of Object.keys(parsed).sort()) out[alias] = Number(parsed[alias]);
  return out;
}
