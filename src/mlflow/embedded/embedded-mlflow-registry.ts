import { Injectable } from '@nestjs/common';
import { sql } from 'kysely';
import { ErrorCode } from '../../common/errors/error-code';
import { RegistryError } from '../../common/errors/registry-error';
import { Database, Db } from '../../database/database';
import { isUniqueViolation } from '../../database/unique-violation';
import { KnownModel, MlflowRegistry } from '../mlflow-registry';
import { modelNotFound, runNotFound, versionNotFound } from '../registry-errors';
import { EmbeddedAliases } from './embedded-aliases';
import {
  ModelVersionRecord,
  Page,
  RegisteredModelRecord,
  RunRecord,
  RunValues,
  Stage,
} from '../registry-types';
import { EmbeddedRegistryQueries } from './embedded-registry-queries';
import {
  decodeSearchToken,
  encodeSearchToken,
  likeToGlob,
  type ModelSearchQuery,
} from '../model-search';
import { EmbeddedRunStore } from './embedded-run-store';
import { archiveApplies } from '../../domain/stage';

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
 *
 * The port's `known` model is taken and not used: the model's row is read in the same database
 * either way (a local indexed read, or the row lock a write must take), and its id, which the
 * record does not carry, is what the queries need.
 */
@Injectable()
export class EmbeddedMlflowRegistry extends MlflowRegistry {
  private readonly db: Db;
  private readonly queries: EmbeddedRegistryQueries;
  private readonly runs: EmbeddedRunStore;
  private readonly aliases: EmbeddedAliases;
  private readonly postgres: boolean;

  constructor(database: Database) {
    super();
    this.db = database.db;
    this.postgres = database.dialect === 'postgres';
    this.queries = new EmbeddedRegistryQueries(this.db, this.postgres);
    this.runs = new EmbeddedRunStore(this.db);
    this.aliases = new EmbeddedAliases(this.db, this.queries);
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
    const row = await this.queries
      .selectModelsWithLatest()
      .where('tenant_id', '=', tenant)
      .where('name', '=', name)
      .executeTakeFirst();
    if (!row) throw modelNotFound(name);
    const [model] = this.queries.toModelRecords([row]);
    return model;
  }

  async searchRegisteredModels(
    tenant: string,
    query: ModelSearchQuery,
  ): Promise<Page<RegisteredModelRecord>> {
    const order = query.orderBy ?? 'name';
    const after = decodeSearchToken(query);
    let q = this.queries
      .selectModelsWithLatest()
      .where('tenant_id', '=', tenant)
      .limit(query.maxResults + 1);
    if (query.nameLike !== undefined) {
      // SQLite's LIKE ignores ASCII case; its GLOB does not. PostgreSQL's LIKE is
      // case-sensitive and takes the backslash escapes as they are.
      q = this.postgres
        ? q.where(sql<boolean>`reg_models.name LIKE ${query.nameLike} ESCAPE '\\'`)
        : q.where(sql<boolean>`reg_models.name GLOB ${likeToGlob(query.nameLike)}`);
    }
    if (order === 'name') {
      q = q.orderBy('name');
      if (after !== undefined) q = q.where('name', '>', after.name);
    } else {
      q = q.orderBy('last_updated_at', 'desc').orderBy('name');
      if (after !== undefined) {
        q = q.where((eb) =>
          eb.or([
            eb('last_updated_at', '<', after.lastUpdatedAt),
            eb.and([eb('last_updated_at', '=', after.lastUpdatedAt), eb('name', '>', after.name)]),
          ]),
        );
      }
    }
    const rows = await q.execute();
    const more = rows.length > query.maxResults;
    const pageRows = more ? rows.slice(0, query.maxResults) : rows;
    const items = this.queries.toModelRecords(pageRows);
    if (!more) return { items };
    const last = items[items.length - 1];
    return {
      items,
      nextPageToken: encodeSearchToken(query, {
        name: last.name,
        lastUpdatedAt: last.lastUpdatedAt,
      }),
    };
  }

  async updateRegisteredModel(
    tenant: string,
    name: string,
    input: { description: string },
    _known?: KnownModel,
  ): Promise<RegisteredModelRecord> {
    const model = await this.queries.findModel(this.db, tenant, name);
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
    _known?: KnownModel,
  ): Promise<void> {
    const model = await this.queries.findModel(this.db, tenant, name);
    await this.db
      .insertInto('reg_model_tags')
      .values({ model_id: model.id, key, value })
      .onConflict((oc) => oc.columns(['model_id', 'key']).doUpdateSet({ value }))
      .execute();
  }

  async deleteRegisteredModelTag(
    tenant: string,
    name: string,
    key: string,
    _known?: KnownModel,
  ): Promise<void> {
    const model = await this.queries.findModel(this.db, tenant, name);
    await this.db
      .deleteFrom('reg_model_tags')
      .where('model_id', '=', model.id)
      .where('key', '=', key)
      .execute();
  }

  async deleteRegisteredModel(tenant: string, name: string, _known?: KnownModel): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      const model = await this.queries.lockModel(trx, tenant, name);
      await this.aliases.forgetModel(trx, model.id);
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
    _known?: KnownModel,
  ): Promise<ModelVersionRecord> {
    const now = Date.now();
    const version = await this.db.transaction().execute(async (trx) => {
      const model = await this.queries.lockModel(trx, tenant, name);
      if (input.runId !== undefined) {
        const run = await trx
          .selectFrom('reg_runs')
          .select('run_id')
          .where('run_id', '=', input.runId)
          .where('tenant_id', '=', tenant)
          .executeTakeFirst();
        if (!run) throw runNotFound(input.runId);
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
    _known?: KnownModel,
  ): Promise<ModelVersionRecord> {
    const model = await this.queries.findModel(this.db, tenant, name);
    const row = await this.db
      .selectFrom('reg_versions')
      .selectAll()
      .where('model_id', '=', model.id)
      .where('version', '=', version)
      .executeTakeFirst();
    if (!row) throw versionNotFound(name, version);
    const [record] = await this.queries.toVersionRecords(name, [row]);
    return record;
  }

  async searchModelVersions(
    tenant: string,
    name: string,
    filter: { stage?: Stage } = {},
    _known?: KnownModel,
  ): Promise<ModelVersionRecord[]> {
    const model = await this.queries.findModel(this.db, tenant, name);
    let q = this.db
      .selectFrom('reg_versions')
      .selectAll()
      .where('model_id', '=', model.id)
      .orderBy('version');
    if (filter.stage !== undefined) q = q.where('stage', '=', filter.stage);
    return this.queries.toVersionRecords(name, await q.execute());
  }

  async updateModelVersion(
    tenant: string,
    name: string,
    version: number,
    input: { description: string },
    _known?: KnownModel,
  ): Promise<ModelVersionRecord> {
    const model = await this.queries.findModel(this.db, tenant, name);
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
    _known?: KnownModel,
  ): Promise<void> {
    const model = await this.queries.findModel(this.db, tenant, name);
    await this.queries.requireVersion(this.db, model, version);
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
    _known?: KnownModel,
  ): Promise<void> {
    const model = await this.queries.findModel(this.db, tenant, name);
    await this.queries.requireVersion(this.db, model, version);
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
    _known?: KnownModel,
  ): Promise<ModelVersionRecord> {
    const now = Date.now();
    await this.db.transaction().execute(async (trx) => {
      const model = await this.queries.lockModel(trx, tenant, name);
      await this.queries.requireVersion(trx, model, version);
      if (archiveExistingVersions && archiveApplies(stage)) {
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

  async deleteModelVersion(
    tenant: string,
    name: string,
    version: number,
    _known?: KnownModel,
  ): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      const model = await this.queries.lockModel(trx, tenant, name);
      await this.queries.requireVersion(trx, model, version);
      await this.aliases.forgetVersion(trx, model.id, version);
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

  // ---- aliases (embedded-aliases.ts) ----

  setRegisteredModelAlias(tenant: string, name: string, alias: string, v: number): Promise<void> {
    return this.aliases.set(tenant, name, alias, v);
  }

  deleteRegisteredModelAlias(tenant: string, name: string, alias: string): Promise<void> {
    return this.aliases.delete(tenant, name, alias);
  }

  async getModelVersionByAlias(
    tenant: string,
    name: string,
    alias: string,
  ): Promise<ModelVersionRecord> {
    return this.getModelVersion(tenant, name, await this.aliases.versionOf(tenant, name, alias));
  }

  // ---- runs ----

  createRun(tenant: string, values: RunValues | Promise<RunValues>): Promise<RunRecord> {
    return this.runs.createRun(tenant, values);
  }

  getRun(tenant: string, runId: string): Promise<RunRecord> {
    return this.runs.getRun(tenant, runId);
  }

  deleteRun(tenant: string, runId: string): Promise<void> {
    return this.runs.deleteRun(tenant, runId);
  }

  async ping(): Promise<void> {
    await this.db.selectFrom('reg_models').select('id').limit(1).execute();
  }
}
