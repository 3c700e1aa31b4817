import { Logger } from '@nestjs/common';
import axios, { AxiosInstance, AxiosResponse } from 'axios';
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { RegistryError } from '../../common/errors/registry-error';

/** MLflow's own error body: `{error_code, message}`. */
export class MlflowApiError extends Error {
  constructor(
    readonly status: number,
    readonly errorCode: string,
    message: string,
  ) {
    super(message);
    this.name = 'MlflowApiError';
  }
}

export interface MlflowClientOptions {
  /** http(s)://host:port of the tracking server. */
  baseUrl: string;
  /** Per attempt; a call that gets no answer within it fails with 503. */
  timeoutMs: number;
  /** MLFLOW_TRACKING_TOKEN (bearer) or MLFLOW_TRACKING_USERNAME/PASSWORD (basic). */
  token?: string;
  username?: string;
  password?: string;
  /** Retries of idempotent calls after a refused/reset connection, 502/503/504 or 429. */
  retries?: number;
}

type Method = 'GET' | 'POST' | 'PATCH' | 'DELETE';

/** The methods/endpoints whose repetition changes nothing: safe to retry after a failure. */
export type Idempotency = 'idempotent' | 'once';

// Timeouts are not retried: a server that did not answer within MLFLOW_TIMEOUT_MS is
// overloaded or hung, and a second wait would only double the time to the 503.
const TRANSIENT_NETWORK = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ERR_SOCKET_CONNECTION_TIMEOUT',
]);

/**
 * A small client of MLflow's REST API 2.0 (`/api/2.0/mlflow/...`) on axios: JSON in and out,
 * a timeout on every attempt, retries only for calls the caller marks idempotent, and one
 * translation of failures:
 * - MLflow's own errors (`{error_code, message}` with 4xx) become MlflowApiError for the
 *   adapter to map (RESOURCE_DOES_NOT_EXIST, RESOURCE_ALREADY_EXISTS, INVALID_PARAMETER_VALUE);
 * - anything that says MLflow cannot serve us — refused or reset connections, timeouts, 5xx,
 *   429, non-JSON bodies (a proxy's 403/503 page, a wrong base URL's HTML 404), 401/403 —
 *   becomes a 503 BACKEND_UNAVAILABLE with Retry-After, and the cause goes to the log.
 */
export class MlflowHttpClient {
  private readonly logger = new Logger('MlflowHttpClient');
  private readonly http: AxiosInstance;
  private readonly retries: number;

  constructor(private readonly options: MlflowClientOptions) {
    this.retries = options.retries ?? 2;
    const headers: Record<string, string> = { Accept: 'application/json' };
    if (options.token !== undefined) headers['Authorization'] = `Bearer ${options.token}`;
    this.http = axios.create({
      baseURL: `${options.baseUrl.replace(/\/+$/, '')}/api/2.0/mlflow/`,
      timeout: options.timeoutMs,
      headers,
      auth:
        options.token === undefined && options.username !== undefined
          ? { username: options.username, password: options.password ?? '' }
          : undefined,
      // Every status is inspected here; axios must not throw on 4xx/5xx.
      validateStatus: () => true,
      // Answers are small JSON documents; a runaway body is a broken backend.
      maxContentLength: 64 * 1024 * 1024,
      maxRedirects: 0,
      httpAgent: new HttpAgent({ keepAlive: true, maxSockets: 64 }),
      httpsAgent: new HttpsAgent({ keepAlive: true, maxSockets: 64 }),
      proxy: false,
      transitional: { clarifyTimeoutError: true },
    });
  }

  get<T>(path: string, params: Record<string, string | number | undefined>): Promise<T> {
    return this.call<T>('GET', path, { params }, 'idempotent');
  }

  post<T>(path: string, body: unknown, idempotency: Idempotency): Promise<T> {
    return this.call<T>('POST', path, { data: body }, idempotency);
  }

  patch<T>(path: string, body: unknown): Promise<T> {
    return this.call<T>('PATCH', path, { data: body }, 'idempotent');
  }

  delete<T>(path: string, body: unknown): Promise<T> {
    return this.call<T>('DELETE', path, { data: body }, 'idempotent');
  }

  private async call<T>(
    method: Method,
    path: string,
    request: { params?: Record<string, string | number | undefined>; data?: unknown },
    idempotency: Idempotency,
  ): Promise<T> {
    const attempts = idempotency === 'idempotent' ? this.retries + 1 : 1;
    let lastCause: unknown;
    for (let attempt = 1; attempt <= attempts; attempt++) {
      if (attempt > 1) await sleep(100 * 3 ** (attempt - 2));
      let response: AxiosResponse<unknown>;
      try {
        response = await this.http.request({ method, url: path, ...request });
      } catch (err) {
        lastCause = err;
        if (isTransientNetworkError(err)) continue;
        break;
      }
      const outcome = this.classify(response);
      if (outcome.kind === 'ok') return outcome.body as T;
      if (outcome.kind === 'api-error') throw outcome.error;
      lastCause = outcome.cause;
      if (!outcome.transient) break;
    }
    this.logger.warn(
      { err: describeCause(lastCause), method, path },
      'MLflow did not answer usefully; answering 503',
    );
    throw RegistryError.unavailable('the registry backend');
  }

  private classify(
    response: AxiosResponse<unknown>,
  ):
    | { kind: 'ok'; body: unknown }
    | { kind: 'api-error'; error: MlflowApiError }
    | { kind: 'unavailable'; transient: boolean; cause: string } {
    const { status, data } = response;
    const body = typeof data === 'string' ? tryJson(data) : data;
    const json =
      typeof body === 'object' && body !== null ? (body as Record<string, unknown>) : null;
    if (status >= 200 && status < 300 && json !== null) return { kind: 'ok', body: json };
    if (
      status >= 400 &&
      status < 500 &&
      status !== 401 &&
      status !== 403 &&
      status !== 429 &&
      json !== null &&
      typeof json['error_code'] === 'string'
    ) {
      return {
        kind: 'api-error',
        error: new MlflowApiError(
          status,
          json['error_code'],
          typeof json['message'] === 'string' ? json['message'] : '',
        ),
      };
    }
    const transient = status === 429 || status === 502 || status === 503 || status === 504;
    if (status === 401 || status === 403) {
      this.logger.error(
        { status },
        'MLflow refused our credentials: check MLFLOW_TRACKING_TOKEN / MLFLOW_TRACKING_USERNAME',
      );
    }
    return {
      kind: 'unavailable',
      transient,
      cause: `HTTP ${status}${json === null ? ' (not a JSON body)' : ''}`,
    };
  }
}

function tryJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

function isTransientNetworkError(err: unknown): boolean {
  if (!axios.isAxiosError(err)) return false;
  // No response at all: the request may or may not have reached MLflow.
  return err.response === undefined && (err.code === undefined || TRANSIENT_NETWORK.has(err.code));
}

function describeCause(err: unknown): string {
  if (axios.isAxiosError(err)) return `${err.code ?? 'error'}: ${err.message}`;
  if (err instanceof Error) return err.message;
  return String(err);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
