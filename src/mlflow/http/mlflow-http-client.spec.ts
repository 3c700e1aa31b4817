import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ErrorCode } from '../../common/errors/error-code';
import { RegistryError } from '../../common/errors/registry-error';
import { MlflowApiError, MlflowHttpClient } from './mlflow-http-client';

/**
 * How the client reads what an HTTP peer answers. The peer here is a plain HTTP server playing
 * the failure modes MLflow deployments show (proxies' HTML pages, 5xx, hangs); the client's
 * behaviour against a real MLflow server is covered by mlflow-http-registry.int-spec.ts.
 */
describe('MlflowHttpClient', () => {
  let server: Server;
  let baseUrl: string;
  let handler: (req: IncomingMessage, res: ServerResponse, body: string) => void;
  let requests: {
    method?: string;
    url?: string;
    headers: IncomingMessage['headers'];
    body: string;
  }[];

  beforeAll(async () => {
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        requests.push({ method: req.method, url: req.url, headers: req.headers, body });
        handler(req, res, body);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  beforeEach(() => {
    requests = [];
  });

  const client = (extra: Partial<ConstructorParameters<typeof MlflowHttpClient>[0]> = {}) =>
    new MlflowHttpClient({ baseUrl, timeoutMs: 2000, ...extra });

  const reply =
    (status: number, body: string, type = 'application/json') =>
    (_req: IncomingMessage, res: ServerResponse) => {
      res.writeHead(status, { 'Content-Type': type });
      res.end(body);
    };

  async function failure(promise: Promise<unknown>): Promise<unknown> {
    return promise.then(
      () => {
        throw new Error('expected a failure');
      },
      (err: unknown) => err,
    );
  }

  it('sends JSON to /api/2.0/mlflow/ and returns the JSON answer', async () => {
    handler = reply(200, '{"registered_model":{"name":"a"}}');
    const out = await client().post('registered-models/create', { name: 'a' }, 'once');
    expect(out).toEqual({ registered_model: { name: 'a' } });
    expect(requests[0]).toMatchObject({
      method: 'POST',
      url: '/api/2.0/mlflow/registered-models/create',
      body: '{"name":"a"}',
    });
  });

  it('puts GET parameters in the query string and DELETE bodies in JSON', async () => {
    handler = reply(200, '{}');
    await client().get('registered-models/search', { filter: "name = 'x'", max_results: 5 });
    await client().delete('registered-models/delete', { name: 'x' });
    const url = new URL(requests[0].url ?? '', 'http://x');
    expect(url.pathname).toBe('/api/2.0/mlflow/registered-models/search');
    expect(Object.fromEntries(url.searchParams)).toEqual({
      filter: "name = 'x'",
      max_results: '5',
    });
    expect(requests[1]).toMatchObject({ method: 'DELETE', body: '{"name":"x"}' });
  });

  it('turns MLflow error bodies into MlflowApiError with the error code', async () => {
    handler = reply(
      404,
      '{"error_code":"RESOURCE_DOES_NOT_EXIST","message":"Registered Model with name=x not found"}',
    );
    const err = await failure(client().get('registered-models/get', { name: 'x' }));
    expect(err).toBeInstanceOf(MlflowApiError);
    expect(err).toMatchObject({ status: 404, errorCode: 'RESOURCE_DOES_NOT_EXIST' });
    expect(requests).toHaveLength(1);
  });

  it('reads RESOURCE_ALREADY_EXISTS, which MLflow sends as a 400', async () => {
    handler = reply(400, '{"error_code":"RESOURCE_ALREADY_EXISTS","message":"exists"}');
    const err = await failure(client().post('registered-models/create', {}, 'once'));
    expect(err).toMatchObject({ status: 400, errorCode: 'RESOURCE_ALREADY_EXISTS' });
  });

  it.each([
    ['a proxy’s HTML 403', 403, '<html>Forbidden</html>', 'text/html'],
    ['a JSON 401', 401, '{"error_code":"UNAUTHENTICATED","message":"no"}', 'application/json'],
    ['an HTML 404 (wrong base URL)', 404, '<!doctype html><title>404</title>', 'text/html'],
    [
      'a 500 INTERNAL_ERROR',
      500,
      '{"error_code":"INTERNAL_ERROR","message":"db"}',
      'application/json',
    ],
    ['a 200 that is not JSON', 200, 'OK', 'text/plain'],
  ])('answers 503 for %s, without retrying', async (_label, status, body, type) => {
    handler = reply(status, body, type);
    const err = await failure(client().get('registered-models/get', { name: 'x' }));
    expect(err).toBeInstanceOf(RegistryError);
    expect(err).toMatchObject({ code: ErrorCode.BackendUnavailable, retryAfterSeconds: 5 });
    expect(requests).toHaveLength(1);
  });

  it('retries an idempotent call after a 503 and succeeds when MLflow recovers', async () => {
    let n = 0;
    handler = (req, res) =>
      ++n < 3
        ? reply(503, 'Service Unavailable', 'text/plain')(req, res)
        : reply(200, '{}')(req, res);
    await expect(client().get('registered-models/get', { name: 'x' })).resolves.toEqual({});
    expect(requests).toHaveLength(3);
  });

  it('never repeats a call that is not idempotent', async () => {
    handler = reply(503, 'Service Unavailable', 'text/plain');
    const err = await failure(client().post('model-versions/create', {}, 'once'));
    expect(err).toMatchObject({ code: ErrorCode.BackendUnavailable });
    expect(requests).toHaveLength(1);
  });

  it('answers 503 at once when nothing listens', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const started = Date.now();
    const err = await failure(
      new MlflowHttpClient({ baseUrl: `http://127.0.0.1:${port}`, timeoutMs: 5000 }).get('x', {}),
    );
    expect(err).toMatchObject({ code: ErrorCode.BackendUnavailable });
    // Three attempts with 100 ms and 300 ms pauses.
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('answers 503 after the timeout when MLflow accepts but never answers, trying once', async () => {
    handler = () => undefined; // never answers
    const started = Date.now();
    const err = await failure(client({ timeoutMs: 300 }).get('registered-models/get', {}));
    expect(err).toMatchObject({ code: ErrorCode.BackendUnavailable });
    expect(Date.now() - started).toBeLessThan(1500);
    expect(requests).toHaveLength(1);
  });

  it('sends the tracking token, or basic credentials', async () => {
    handler = reply(200, '{}');
    await client({ token: 'tok' }).get('a', {});
    await client({ username: 'u', password: 'p' }).get('a', {});
    expect(requests[0].headers.authorization).toBe('Bearer tok');
    expect(requests[1].headers.authorization).toBe(
      `Basic ${Buffer.from('u:p').toString('base64')}`,
    );
  });
});
