import { randomUUID } from 'node:crypto';
import { Db } from '../../database/database';
import { runNotFound } from '../registry-errors';
import { ParamValue, RunRecord, RunValues } from '../registry-types';

/**
 * The port's runs in the service database: a version's metrics and parameters, the parameters
 * as JSON so they keep their types. A run of another tenant is "not found".
 */
export class EmbeddedRunStore {
  constructor(private readonly db: Db) {}

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
    if (!run) throw runNotFound(runId);
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
        throw runNotFound(runId);
      }
      await trx.deleteFrom('reg_run_metrics').where('run_id', '=', runId).execute();
      await trx.deleteFrom('reg_run_params').where('run_id', '=', runId).execute();
    });
  }
}
