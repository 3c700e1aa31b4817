import { Db } from '../../database/database';
import { aliasNotFound } from '../registry-errors';
import { EmbeddedRegistryQueries } from './embedded-registry-queries';

/**
 * The embedded registry's aliases (MLflow's semantics): an alias names one version of one
 * model, setting it again moves it, and deleting a version or a model deletes its aliases
 * (`forgetVersion`, `forgetModel`, inside those deletions' transactions). Records read their
 * aliases through EmbeddedRegistryQueries.
 */
export class EmbeddedAliases {
  constructor(
    private readonly db: Db,
    private readonly queries: EmbeddedRegistryQueries,
  ) {}

  /**
   * Creates or moves the alias (an upsert: of two racing sets one stays), under the model's
   * lock as a version deletion is, so an alias never outlives its version.
   */
  async set(tenant: string, name: string, alias: string, version: number): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      const model = await this.queries.lockModel(trx, tenant, name);
      await this.queries.requireVersion(trx, model, version);
      await trx
        .insertInto('reg_aliases')
        .values({ model_id: model.id, alias, version })
        .onConflict((oc) => oc.columns(['model_id', 'alias']).doUpdateSet({ version }))
        .execute();
    });
  }

  async delete(tenant: string, name: string, alias: string): Promise<void> {
    const model = await this.queries.findModel(this.db, tenant, name);
    await this.db
      .deleteFrom('reg_aliases')
      .where('model_id', '=', model.id)
      .where('alias', '=', alias)
      .execute();
  }

  /** The version number the alias points at; ALIAS_NOT_FOUND when the model has no such alias. */
  async versionOf(tenant: string, name: string, alias: string): Promise<number> {
    const model = await this.queries.findModel(this.db, tenant, name);
    const row = await this.db
      .selectFrom('reg_aliases')
      .select('version')
      .where('model_id', '=', model.id)
      .where('alias', '=', alias)
      .executeTakeFirst();
    if (!row) throw aliasNotFound(name, alias);
    return Number(row.version);
  }

  forgetVersion(trx: Db, modelId: number, version: number): Promise<unknown> {
    return trx
      .deleteFrom('reg_aliases')
      .where('model_id', '=', modelId)
      .where('version', '=', version)
      .execute();
  }

  forgetModel(trx: Db, modelId: number): Promise<unknown> {
    return trx.deleteFrom('reg_aliases').where('model_id', '=', modelId).execute();
  }
}
