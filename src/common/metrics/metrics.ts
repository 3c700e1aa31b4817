import { Injectable, Logger } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { ErrorCode } from '../errors/error-code';
import { isRegistryError } from '../errors/registry-error';

/** The adapters whose calls are timed (one of each port is in use in a deployment). */
export type Backend = 'mlflow' | 'embedded-registry' | 's3' | 'azure' | 'filesystem' | 'database';

/** How a backend call ended: answered, answered with an error (not found, conflict), or not at all. */
export type Outcome = 'ok' | 'error' | 'unavailable';

/** The label of every request no route matched (404s, CORS preflights, Swagger UI's files). */
export const UNMATCHED_ROUTE = 'unmatched';

/** A value read at scrape time, with its labels. */
export interface Sample<L extends string> {
  labels: Partial<Record<L, string>>;
  value: number;
}

const HTTP_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
const BACKEND_BUCKETS = [
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30,
];

const seconds = (startedNs: bigint): number => Number(process.hrtime.bigint() - startedNs) / 1e9;

function outcomeOf(err: unknown): Outcome {
  return isRegistryError(err, ErrorCode.BackendUnavailable) ? 'unavailable' : 'error';
}

/**
 * The service's Prometheus metrics: one prom-client Registry per application (not the global
 * default one, so several apps in one process keep theirs apart), with Node's default process
 * metrics. Shared modules and adapters record through its typed methods; a feature that wants a
 * value read at scrape time registers a gauge (`gauge`), so this module never imports one.
 */
@Injectable()
export class Metrics {
  readonly registry = new Registry();
  private readonly logger = new Logger(Metrics.name);

  private readonly requests = new Counter({
    name: 'registry_http_requests_total',
    help: 'HTTP requests answered, by method, route template and status',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [this.registry],
  });

  private readonly requestDuration = new Histogram({
    name: 'registry_http_request_duration_seconds',
    help: 'Time from a request’s arrival to the end of its answer, by method, route template and status',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: HTTP_BUCKETS,
    registers: [this.registry],
  });

  private readonly backendDuration = new Histogram({
    name: 'registry_backend_call_duration_seconds',
    help: 'Calls to the registry backend, the object store and the database, by backend, operation and outcome',
    labelNames: ['backend', 'operation', 'outcome'] as const,
    buckets: BACKEND_BUCKETS,
    registers: [this.registry],
  });

  private readonly cacheLookups = new Counter({
    name: 'registry_cache_lookups_total',
    help: 'Metadata cache reads, by scope (model, list) and result (hit, miss, bypass: the cache is off or recovering)',
    labelNames: ['scope', 'result'] as const,
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }

  /**
   * Express middleware recording every request once its answer is done (or its connection
   * gone: status `aborted`). The route is the matched template (`/api/v1/ml/registry/models/:name`),
   * never the URL, so the label set stays bounded.
   */
  readonly middleware = (req: Request, res: Response, next: NextFunction): void => {
    const started = process.hrtime.bigint();
    res.once('close', () => {
      const route = (req.route as { path?: unknown } | undefined)?.path;
      const labels = {
        method: req.method,
        route: typeof route === 'string' ? route : UNMATCHED_ROUTE,
        status: res.writableFinished ? String(res.statusCode) : 'aborted',
      };
      this.requests.inc(labels);
      this.requestDuration.observe(labels, seconds(started));
    });
    next();
  };

  /** Times one backend call: `work`'s result or error, unchanged. */
  timeBackend<T>(backend: Backend, operation: string, work: () => Promise<T>): Promise<T> {
    const started = process.hrtime.bigint();
    return work().then(
      (value) => {
        this.backendDuration.observe({ backend, operation, outcome: 'ok' }, seconds(started));
        return value;
      },
      (err: unknown) => {
        this.backendDuration.observe(
          { backend, operation, outcome: outcomeOf(err) },
          seconds(started),
        );
        throw err;
      },
    );
  }

  /** A backend call timed by its client (the database driver reports its own durations). */
  observeBackend(
    backend: Backend,
    operation: string,
    outcome: Outcome,
    durationSeconds: number,
  ): void {
    this.backendDuration.observe({ backend, operation, outcome }, durationSeconds);
  }

  cacheLookup(scope: 'model' | 'list', result: 'hit' | 'miss' | 'bypass'): void {
    this.cacheLookups.inc({ scope, result });
  }

  /**
   * A gauge whose samples `read` gives at every scrape (e.g. counted in the database). A read
   * that fails leaves the gauge empty for that scrape, logged, rather than failing the scrape.
   */
  gauge<L extends string>(
    name: string,
    help: string,
    labelNames: readonly L[],
    read: () => Promise<Sample<L>[]>,
  ): void {
    const logger = this.logger;
    new Gauge<L>({
      name,
      help,
      labelNames,
      registers: [this.registry],
      async collect() {
        this.reset();
        try {
          for (const { labels, value } of await read()) this.set(labels, value);
        } catch (err) {
          logger.warn(
            `metric ${name} could not be read: ${err instanceof Error ? err.message : String(err)}`,
          );
        }
      },
    });
  }

  /** The exposition: Prometheus text format. */
  render(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
