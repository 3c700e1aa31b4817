import { Injectable } from '@nestjs/common';
import type { Selectable } from 'kysely';
import { Database, Db } from '../database/database';
import type { PoliciesTable } from '../database/schema';
import type { PolicyStage } from './policy';

export type PolicyRow = Selectable<PoliciesTable>;

/** The tenant's own policy is stored under this model name (model names are never empty). */
export const TENANT_SCOPE = '';

@Injectable()
export class PoliciesRepository {
  constructor(private readonly database: Database) {}

  /** The model's override and the tenant's policy for `stage` (either may be missing). */
  async forModel(
    tenant: string,
    model: string,
    stage: PolicyStage,
    db: Db = this.database.db,
  ): Promise<{ model?: PolicyRow; tenant?: PolicyRow }> {
    const rows = await db
      .selectFrom('policies')
      .selectAll()
      .where('tenant_id', '=', tenant)
      .where('stage', '=', stage)
      .where('model_name', 'in', [model, TENANT_SCOPE])
      .execute();
    return {
      model: rows.find((r) => r.model_name === model && model !== TENANT_SCOPE),
      tenant: rows.find((r) => r.model_name === TENANT_SCOPE),
    };
  }

  find(
    tenant: string,
    model: string,
    stage: PolicyStage,
    db: Db = this.database.db,
  ): Promise<PolicyRow | undefined> {
    return db
      .selectFrom('policies')
      .selectAll()
      .where('tenant_id', '=', tenant)
      .where('model_name', '=', model)
      .where('stage', '=', stage)
      .executeTakeFirst();
  }

  async put(row: PolicyRow, db: Db): Promise<void> {
    await db
      .insertInto('policies')
      .values(row)
      .onConflict((oc) =>
        oc.columns(['tenant_id', 'model_name', 'stage']).doUpdateSet({
          body: row.body,
          updated_at: row.updated_at,
          updated_by: row.updated_by,
          updated_by_tenant: row.updated_by_tenant,
        }),
      )
      .execute();
  }

  /** False when there was none. */
  async delete(tenant: string, model: string, stage: PolicyStage, db: Db): Promise<boolean> {
    const result = await db
      .deleteFrom('policies')
      .where('tenant_id', '=', tenant)
      .where('model_name', '=', model)
      .where('stage', '=', stage)
      .executeTakeFirst();
    return Number(result.numDeletedRows) === 1;
  }
}
