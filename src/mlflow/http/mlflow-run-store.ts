import type { Logger } from '@nestjs/common';
import { RegistryError } from '../../common/errors/registry-error';
import { runNotFound } from '../registry-errors';
import { RunRecord, RunValues } from '../registry-types';
import { isCode, refused } from './mlflow-errors';
import { MlflowApiError, MlflowHttpClient } from './mlflow-http-client';
import { MlflowRun, tagList } from './mlflow-mapper';
import { MlflowTenancy } from './mlflow-tenancy';
import { decodeParams, encodeParams } from './run-params-codec';

/** MLflow's log-batch limits per request. */
const BATCH_METRICS = 1000;
const BATCH_PARAMS = 100;
const BATCH_TAGS = 100;

/**
 * The port's runs on MLflow: a version's metrics and parameters in an MLflow run of the
 * tenant's experiment (created on first use), so they show in MLflow's UI; a run of another
 * experiment is "not found". Parameters keep their JSON types through `run-params-codec.ts`.
 */
export class MlflowRunStore {
  private readonly experimentIds = new Map<string, Promise<string>>();

  constructor(
    private readonly client: MlflowHttpClient,
    private readonly tenancy: MlflowTenancy,
    /** The registry adapter's: MLflow's refusals are logged under one name. */
    private readonly logger: Logger,
  ) {}

  /** The id of the tenant's experiment, created on first use; cached, and forgotten on error. */
  private experimentId(tenant: string): Promise<string> {
    let id = this.experimentIds.get(tenant);
    if (id === undefined) {
      id = this.findOrCreateExperiment(tenant);
      id.catch(() => this.experimentIds.delete(tenant));
      this.experimentIds.set(tenant, id);
    }
    return id;
  }

  private async findOrCreateExperiment(tenant: string): Promise<string> {
    const name = this.tenancy.experimentName(tenant);
    const find = async (): Promise<string | undefined> => {
      try {
        const { experiment } = await this.client.get<{
          experiment: { experiment_id: string; lifecycle_stage?: string };
        }>('experiments/get-by-name', { experiment_name: name });
        if (experiment.lifecycle_stage === 'deleted') {
          // Someone deleted it in MLflow: bring it back rather than fail every registration.
          await this.client.post(
            'experiments/restore',
            { experiment_id: experiment.experiment_id },
            'idempotent',
          );
        }
        return experiment.experiment_id;
      } catch (err) {
        if (isCode(err, 'RESOURCE_DOES_NOT_EXIST')) return undefined;
        throw err;
      }
    };
    const found = await find();
    if (found !== undefined) return found;
    try {
      const { experiment_id } = await this.client.post<{ experiment_id: string }>(
        'experiments/create',
        { name, tags: tagList(this.tenancy.ownerTags(tenant)) },
        'once',
      );
      return experiment_id;
    } catch (err) {
      // Another replica created it first.
      if (isCode(err, 'RESOURCE_ALREADY_EXISTS')) {
        const again = await find();
        if (again !== undefined) return again;
      }
      throw err;
    }
  }

  async createRun(tenant: string, values: RunValues | Promise<RunValues>): Promise<RunRecord> {
    // The run is created while the values may still be read; a failure of theirs is handled
    // below, once the run exists (it is then deleted), not reported as unhandled meanwhile.
    const pending = Promise.resolve(values);
    pending.catch(() => undefined);
    const experimentId = await this.experimentId(tenant);
    const now = Date.now();
    let run: MlflowRun;
    try {
      ({ run } = await this.client.post<{ run: MlflowRun }>(
        'runs/create',
        {
          experiment_id: experimentId,
          start_time: now,
          tags: tagList(this.tenancy.ownerTags(tenant)),
        },
        'once',
      ));
    } catch (err) {
      if (!(err instanceof MlflowApiError)) throw err;
      // The experiment was deleted or purged in MLflow since we looked it up: look it up (or
      // make it) again next time, and let this registration be retried.
      this.experimentIds.delete(tenant);
      this.logger.warn({ mlflow: err.message, experimentId }, 'MLflow refused to create a run');
      throw RegistryError.unavailable('the registry backend');
    }
    const runId = run.info.run_id;
    let input: RunValues;
    try {
      input = await pending;
      const { params, typeTags } = encodeParams(input.params);
      const metrics = Object.entries(input.metrics).map(([key, value]) => ({
        key,
        value,
        timestamp: now,
        step: 0,
      }));
      const batches = Math.max(
        Math.ceil(metrics.length / BATCH_METRICS),
        Math.ceil(params.length / BATCH_PARAMS),
        Math.ceil(typeTags.length / BATCH_TAGS),
      );
      for (let i = 0; i < batches; i++) {
        // log-batch is not idempotent for metrics (a repeat adds history points): no retries.
        await this.client.post(
          'runs/log-batch',
          {
            run_id: runId,
            metrics: metrics.slice(i * BATCH_METRICS, (i + 1) * BATCH_METRICS),
            params: params.slice(i * BATCH_PARAMS, (i + 1) * BATCH_PARAMS),
            tags: typeTags.slice(i * BATCH_TAGS, (i + 1) * BATCH_TAGS),
          },
          'once',
        );
      }
      await this.client.post(
        'runs/update',
        { run_id: runId, status: 'FINISHED', end_time: Date.now() },
        'idempotent',
      );
    } catch (err) {
      await this.deleteRun(tenant, runId).catch((cleanup: unknown) =>
        this.logger.warn({ err: cleanup, runId }, 'could not delete a half-written run'),
      );
      if (err instanceof MlflowApiError) {
        throw refused(this.logger, err, 'the metrics or parameters');
      }
      throw err;
    }
    return { runId, metrics: { ...input.metrics }, params: { ...input.params } };
  }

  /** The run, or RUN_NOT_FOUND unless it is a live run of the tenant's experiment. */
  private async fetchRun(tenant: string, runId: string): Promise<MlflowRun> {
    const notFound = runNotFound(runId);
    if (!/^[A-Za-z0-9]{1,64}$/.test(runId)) throw notFound;
    let run: MlflowRun;
    try {
      ({ run } = await this.client.get<{ run: MlflowRun }>('runs/get', { run_id: runId }));
    } catch (err) {
      if (isCode(err, 'RESOURCE_DOES_NOT_EXIST') || isCode(err, 'INVALID_PARAMETER_VALUE')) {
        throw notFound;
      }
      throw err;
    }
    if (run.info.lifecycle_stage === 'deleted') throw notFound;
    if (run.info.experiment_id !== (await this.experimentId(tenant))) throw notFound;
    return run;
  }

  async getRun(tenant: string, runId: string): Promise<RunRecord> {
    const run = await this.fetchRun(tenant, runId);
    const params = decodeParams(run.data?.params, run.data?.tags, (tag) =>
      this.logger.warn({ runId, tag }, 'unreadable parameter types tag; using strings'),
    );
    const metrics: Record<string, number> = {};
    for (const { key, value } of run.data?.metrics ?? []) metrics[key] = Number(value);
    return { runId: run.info.run_id, metrics, params };
  }

  async deleteRun(tenant: string, runId: string): Promise<void> {
    await this.fetchRun(tenant, runId);
    await this.client.post('runs/delete', { run_id: runId }, 'idempotent');
  }
}
