import { Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { ErrorCode } from '../../common/errors/error-code';
import { RegistryError } from '../../common/errors/registry-error';
import { Database, Db } from '../../database/database';
import { isUniqueViolation } from '../../database/unique-violation';
import { MlflowRegistry } from '../mlflow-registry';
import {
  LatestVersion,
  ModelVersionRecord,
  Page,
  ParamValue,
  RegisteredModelRecord,
  RunRecord,
  RunValues,
  Stage,
} from '../registry-types';
import type { DatabaseSchema, RegModelsTable, RegVersionsTable } from '../../database/schema';
import { sql, type ExpressionBuilder, type Selectable } from 'kysely';

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
};

function modelNotFound(name: string): RegistryError {
  return new RegistryError(ErrorCode.ModelNotFound, `model '${name}' does not exist`);
}

function versionNotFound(name: string, version: number): RegistryError {
  return new RegistryError(ErrorCode.VersionNotFound, `model '${name}' has no version ${version}`);
}

function encodePageToken(afterName: string): string {
  return Buffer.from(JSON.stringify({ after: afterName }), 'utf8').toString('base64url');
}

function decodePageToken(token: string): string {
  try {
    const parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as unknown;
    if (
      typeof parsed === 'object' &&
      parsed !== null &&
      typeof (parsed as { after?: unknown }).after === 'string'
    ) {
      return (parsed as { after: string }).after;
    }
  } catch {
    // fall through
  }
  throw RegistryError.validation('page_token is not a token this service issued');
}

/**
 * The registry backend embedded in the service database, with MLflow's semantics: version
 * numbers per model that are never reused, four stages, `archive_existing_versions` for
 * staging/production targets, `latest_versions` per stage, runs holding metrics and params.
 *
 * On PostgreSQL several replicas share it, and transactions run at READ COMMITTED: every
 * transaction that changes a model's versions first locks the model's row (SELECT ... FOR
 * UPDATE), so two of them on one model (two transitions archiving each other's versions, a
 * deletion and a new version) run one after the other, as they do on SQLite, where one
 * connection serialises them. Version numbers come from an atomic increment.
 */
@Injectable()
export class EmbeddedMlflowRegistry extends MlflowRegistry {
  private readonly db: Db;
  /**
   * On PostgreSQL: rows are locked FOR UPDATE (SQLite has none, nor needs it: one connection
   * runs one transaction at a time), and tags are aggregated with json_object_agg.
   */
  private readonly postgres: boolean;

  constructor(database: Database) {
    super();
    this.db = database.db;
    this.postgres = database.dialect === 'postgres';
  }

  async createRegisteredModel(
    tenant: string,
    input: { name: string; description?: string; tags?: Record<string, string> },
  ): Promise<RegisteredModelRecord> {
    const now = Date.now();
    try {
      await this.db.transaction().execute(async (trx) => {
        const { id } = await trx
          .insertInto('reg_models')
          .values({
            tenant_id: tenant,
            name: input.name,
            description: input.description ?? '',
            created_at: now,
            last_updated_at: now,
            next_version: 1,
          })
          .returning('id')
          .executeTakeFirstOrThrow();
        const tags = Object.entries(input.tags ?? {});
        if (tags.length > 0) {
          await trx
            .insertInto('reg_model_tags')
            .values(tags.map(([key, value]) => ({ model_id: id, key, value })))
            .execute();
        }
      });
    } catch (err) {
      if (isUniqueViolation(err)) {
        throw new RegistryError(
          ErrorCode.ModelAlreadyExists,
          `model '${input.name}' already exists`,
        );
      }
      throw err;
    }
    return this.getRegisteredModel(tenant, input.name);
  }

  async getRegisteredModel(tenant: string, name: string): Promise<RegisteredModelRecord> {
    const row = await this.selectModelsWithLatest()
      .where('tenant_id', '=', tenant)
      .where('name', '=', name)
      .executeTakeFirst();
    if (!row) throw modelNotFound(name);
    const [model] = this.toModelRecords([row]);
    return model;
  }

  async searchRegisteredModels(
    tenant: string,
    query: { maxResults: number; pageToken?: string },
  ): Promise<Page<RegisteredModelRecord>> {
    let q = this.selectModelsWithLatest()
      .where('tenant_id', '=', tenant)
      .orderBy('name')
      .limit(query.maxResults + 1);
    if (query.pageToken !== undefined) q = q.where('name', '>', decodePageToken(query.pageToken));
    const rows = await q.execute();
    const more = rows.length > query.maxResults;
    const pageRows = more ? rows.slice(0, query.maxResults) : rows;
    const items = this.toModelRecords(pageRows);
    return more
      ? { items, nextPageToken: encodePageToken(pageRows[pageRows.length - 1].name) }
      : { items };
  }

  async updateRegisteredModel(
    tenant: string,
    name: string,
    input: { description: string },
  ): Promise<RegisteredModelRecord> {
    const model = await this.findModel(this.db, tenant, name);
    await this.db
      .updateTable('reg_models')
      .set({ description: input.description, last_updated_at: Date.now() })
      .where('id', '=', model.id)
      .execute();
    return this.getRegisteredModel(tenant, name);
  }

  async setRegisteredModelTag(
    tenant: string,
    name: string,
    key: string,
    value: string,
  ): Promise<void> {
    const model = await this.findModel(this.db, tenant, name);
    await this.db
      .insertInto('reg_model_tags')
      .values({ model_id: model.id, key, value })
      .onConflict((oc) => oc.columns(['model_id', 'key']).doUpdateSet({ value }))
      .execute();
  }

  async deleteRegisteredModelTag(tenant: string, name: string, key: string): Promise<void> {
    const model = await this.findModel(this.db, tenant, name);
    await this.db
      .deleteFrom('reg_model_tags')
      .where('model_id', '=', model.id)
      .where('key', '=', key)
      .execute();
  }

  async deleteRegisteredModel(tenant: string, name: string): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      const model = await this.lockModel(trx, tenant, name);
      await trx.deleteFrom('reg_version_tags').where('model_id', '=', model.id).execute();
      await trx.deleteFrom('reg_versions').where('model_id', '=', model.id).execute();
      await trx.deleteFrom('reg_model_tags').where('model_id', '=', model.id).execute();
      await trx.deleteFrom('reg_models').where('id', '=', model.id).execute();
    });
  }

  async createModelVersion(
    tenant: string,
    name: string,
    input: { source: string; runId?: string; description?: string; tags?: Record<string, string> },
  ): Promise<ModelVersionRecord> {
    const now = Date.now();
    const version = await this.db.transaction().execute(async (trx) => {
      const model = await this.lockModel(trx, tenant, name);
      if (input.runId !== undefined) {
        const run = await trx
          .selectFrom('reg_runs')
          .select('run_id')
          .where('run_id', '=', input.runId)
          .where('tenant_id', '=', tenant)
          .executeTakeFirst();
        if (!run)
          throw new RegistryError(ErrorCode.RunNotFound, `run '${input.runId}' does not exist`);
      }
      const bumped = await trx
        .updateTable('reg_models')
        .set((eb) => ({ next_version: eb('next_version', '+', 1), last_updated_at: now }))
        .where('id', '=', model.id)
        .returning('next_version')
        .executeTakeFirst();
      if (!bumped) throw modelNotFound(name);
      const number = bumped.next_version - 1;
      await trx
        .insertInto('reg_versions')
        .values({
          model_id: model.id,
          version: number,
          stage: Stage.None,
          description: input.description ?? '',
          source: input.source,
          run_id: input.runId ?? null,
          created_at: now,
          last_updated_at: now,
        })
        .execute();
      const tags = Object.entries(input.tags ?? {});
      if (tags.length > 0) {
        await trx
          .insertInto('reg_version_tags')
          .values(tags.map(([key, value]) => ({ model_id: model.id, version: number, key, value })))
          .execute();
      }
      return number;
    });
    return this.getModelVersion(tenant, name, version);
  }

  async getModelVersionWithModel(
    tenant: string,
    name: string,
    version: number,
  ): Promise<{ model: RegisteredModelRecord; version: ModelVersionRecord }> {
    const model = await this.getRegisteredModel(tenant, name);
    return { model, version: await this.getModelVersion(tenant, name, version) };
  }

  async getModelVersion(
    tenant: string,
    name: string,
    version: number,
  ): Promise<ModelVersionRecord> {
    const model = await this.findModel(this.db, tenant, name);
    const row = await this.db
      .selectFrom('reg_versions')
      .selectAll()
      .where('model_id', '=', model.id)
      .where('version', '=', version)
      .executeTakeFirst();
    if (!row) throw versionNotFound(name, version);
    const [record] = await this.toVersionRecords(name, [row]);
    return record;
  }

  async searchModelVersions(
    tenant: string,
    name: string,
    filter: { stage?: Stage } = {},
  ): Promise<ModelVersionRecord[]> {
    const model = await this.findModel(this.db, tenant, name);
    let q = this.db
      .selectFrom('reg_versions')
      .selectAll()
      .where('model_id', '=', model.id)
      .orderBy('version');
    if (filter.stage !== undefined) q = q.where('stage', '=', filter.stage);
    return this.toVersionRecords(name, await q.execute());
  }

  async updateModelVersion(
    tenant: string,
    name: string,
    version: number,
    input: { description: string },
  ): Promise<ModelVersionRecord> {
    const model = await this.findModel(this.db, tenant, name);
    const result = await this.db
      .updateTable('reg_versions')
      .set({ description: input.description, last_updated_at: Date.now() })
      .where('model_id', '=', model.id)
      .where('version', '=', version)
      .executeTakeFirst();
    if (Number(result.numUpdatedRows) === 0) throw versionNotFound(name, version);
    return this.getModelVersion(tenant, name, version);
  }

  async setModelVersionTag(
    tenant: string,
    name: string,
    version: number,
    key: string,
    value: string,
  ): Promise<void> {
    const model = await this.findModel(this.db, tenant, name);
    await this.requireVersion(this.db, model, version);
    await this.db
      .insertInto('reg_version_tags')
      .values({ model_id: model.id, version, key, value })
      .onConflict((oc) => oc.columns(['model_id', 'version', 'key']).doUpdateSet({ value }))
      .execute();
  }

  async deleteModelVersionTag(
    tenant: string,
    name: string,
    version: number,
    key: string,
  ): Promise<void> {
    const model = await this.findModel(this.db, tenant, name);
    await this.requireVersion(this.db, model, version);
    await this.db
      .deleteFrom('reg_version_tags')
      .where('model_id', '=', model.id)
      .where('version', '=', version)
      .where('key', '=', key)
      .execute();
  }

  async transitionModelVersionStage(
    tenant: string,
    name: string,
    version: number,
    stage: Stage,
    archiveExistingVersions: boolean,
  ): Promise<ModelVersionRecord> {
    const now = Date.now();
    await this.db.transaction().execute(async (trx) => {
      const model = await this.lockModel(trx, tenant, name);
      await this.requireVersion(trx, model, version);
      if (archiveExistingVersions && (stage === Stage.Staging || stage === Stage.Production)) {
        await trx
          .updateTable('reg_versions')
          .set({ stage: Stage.Archived, last_updated_at: now })
          .where('model_id', '=', model.id)
          .where('stage', '=', stage)
          .where('version', '!=', version)
          .execute();
      }
      await trx
        .updateTable('reg_versions')
        .set({ stage, last_updated_at: now })
        .where('model_id', '=', model.id)
        .where('version', '=', version)
        .execute();
      await trx
        .updateTable('reg_models')
        .set({ last_updated_at: now })
        .where('id', '=', model.id)
        .execute();
    });
    return this.getModelVersion(tenant, name, version);
  }

  async deleteModelVersion(tenant: string, name: string, version: number): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      const model = await this.lockModel(trx, tenant, name);
      await this.requireVersion(trx, model, version);
      await trx
        .deleteFrom('reg_version_tags')
        .where('model_id', '=', model.id)
        .where('version', '=', version)
        .execute();
      await trx
        .deleteFrom('reg_versions')
        .where('model_id', '=', model.id)
        .where('version', '=', version)
        .execute();
      await trx
        .updateTable('reg_models')
        .set({ last_updated_at: Date.now() })
        .where('id', '=', model.id)
        .execute();
    });
  }

  async createRun(tenant: string, values: RunValues | Promise<RunValues>): Promise<RunRecord> {
    const input = await values;
    const runId = randomUUID().replace(/-/g, '');
    await this.db.transaction().execute(async (trx) => {
      await trx
        .insertInto('reg_runs')
        .values({ run_id: runId, tenant_id: tenant, created_at: Date.now() })
        .execute();
      const metrics = Object.entries(input.metrics);
      if (metrics.length > 0) {
        await trx
          .insertInto('reg_run_metrics')
          .values(metrics.map(([key, value]) => ({ run_id: runId, key, value })))
          .execute();
      }
      const params = Object.entries(input.params);
      if (params.length > 0) {
        await trx
          .insertInto('reg_run_params')
          .values(
            params.map(([key, value]) => ({ run_id: runId, key, value: JSON.stringify(value) })),
          )
          .execute();
      }
    });
    return { runId, metrics: { ...input.metrics }, params: { ...input.params } };
  }

  async getRun(tenant: string, runId: string): Promise<RunRecord> {
    const run = await this.db
      .selectFrom('reg_runs')
      .select('run_id')
      .where('run_id', '=', runId)
      .where('tenant_id', '=', tenant)
      .executeTakeFirst();
    if (!run) throw new RegistryError(ErrorCode.RunNotFound, `run '${runId}' does not exist`);
    const [metricRows, paramRows] = await Promise.all([
      this.db
        .selectFrom('reg_run_metrics')
        .select(['key', 'value'])
        .where('run_id', '=', runId)
        .execute(),
      this.db
        .selectFrom('reg_run_params')
        .select(['key', 'value'])
        .where('run_id', '=', runId)
        .execute(),
    ]);
    const metrics: Record<string, number> = {};
    for (const m of metricRows) metrics[m.key] = Number(m.value);
    const params: Record<string, ParamValue> = {};
    for (const p of paramRows) params[p.key] = JSON.parse(p.value) as ParamValue;
    return { runId, metrics, params };
  }

  async deleteRun(tenant: string, runId: string): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      const deleted = await trx
        .deleteFrom('reg_runs')
        .where('run_id', '=', runId)
        .where('tenant_id', '=', tenant)
        .executeTakeFirst();
      if (Number(deleted.numDeletedRows) === 0) {
        throw new RegistryError(ErrorCode.RunNotFound, `run '${runId}' does not exist`);
      }
      await trx.deleteFrom('reg_run_metrics').where('run_id', '=', runId).execute();
      await trx.deleteFrom('reg_run_params').where('run_id', '=', runId).execute();
    });
  }

  async ping(): Promise<void> {
    await this.db.selectFrom('reg_models').select('id').limit(1).execute();
  }

  private async findModel(db: Db, tenant: string, name: string): Promise<ModelRow> {
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
  private async lockModel(trx: Db, tenant: string, name: string): Promise<ModelRow> {
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

  private async requireVersion(db: Db, model: ModelRow, version: number): Promise<void> {
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
  private selectModelsWithLatest() {
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
      ]);
  }

  private toModelRecords(rows: ModelRowWithLatest[]): RegisteredModelRecord[] {
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
      };
    });
  }

  private async toVersionRecords(name: string, rows: VersionRow[]): Promise<ModelVersionRecord[]> {
    if (rows.length === 0) return [];
    const modelId = rows[0].model_id;
    let tagQuery = this.db
      .selectFrom('reg_version_tags')
      .selectAll()
      .where('model_id', '=', modelId);
    if (rows.length === 1) tagQuery = tagQuery.where('version', '=', rows[0].version);
    const tagRows = await tagQuery.execute();
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
      createdAt: Number(r.created_at),
      lastUpdatedAt: Number(r.last_updated_at),
    }));
  }
}
