import express from 'express';
import { storage } from 'nestjs-pino/storage';
import { Writable } from 'node:stream';
import request from 'supertest';
import { AccessLog, noteAnswerError } from './access-log';
import { logDestination } from './log-destination';

interface Line {
  level: number;
  msg: string;
  req?: { id?: string; method?: string; url?: string };
  res?: { statusCode?: number };
  responseTime?: number;
  tenant?: string;
  user?: string;
  code?: string;
  message?: string;
}

function appWithLog(): { app: express.Express; lines: Line[] } {
  const lines: Line[] = [];
  const log = new AccessLog(
    'info',
    sinkOf((text) => lines.push(JSON.parse(text) as Line)),
  );
  return { app: routes(log), lines };
}

function sinkOf(onLine: (text: string) => void): Writable {
  return new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const text of chunk.toString('utf8').split('\n')) {
        if (text !== '') onLine(text);
      }
      done();
    },
  });
}

function routes(log: AccessLog): express.Express {
  const app = express();
  app.use(log.middleware);
  app.get('/api/things/:id', (req, res) => {
    (req as unknown as { principal: object }).principal = {
      subject: 'alice',
      tenantId: 'acme',
      roles: [],
    };
    // What nestjs-pino's PinoLogger does for a line logged while serving a request.
    storage.getStore()!.logger.info('inside the handler');
    res.json({ id: req.params.id });
  });
  app.get('/api/boom', (_req, res) => {
    noteAnswerError(res, 'BACKEND_UNAVAILABLE', 'the registry backend is unavailable');
    res.status(503).json({ code: 'BACKEND_UNAVAILABLE' });
  });
  app.get('/api/missing', (req, res) => {
    (req as unknown as { principal: object }).principal = {
      subject: 'alice',
      tenantId: 'acme',
      roles: [],
    };
    noteAnswerError(res, 'MODEL_NOT_FOUND', "model 'churn' not found");
    res.status(404).json({ code: 'MODEL_NOT_FOUND' });
  });
  app.get('/api/slow', () => {
    // Never answers: the client gives up first.
  });
  app.get('/health/live', (_req, res) => {
    res.json({ status: 'ok' });
  });
  return app;
}

const settle = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 20));

describe('AccessLog', () => {
  it('writes one line per request: id, method, url, status, time, tenant and user', async () => {
    const { app, lines } = appWithLog();
    const res = await request(app).get('/api/things/7?x=1').set('X-Request-Id', 'req-123');
    expect(res.status).toBe(200);
    expect(res.headers['x-request-id']).toBe('req-123');
    await settle();
    const line = lines.find((l) => l.msg === 'request completed');
    expect(line).toMatchObject({
      level: 30,
      req: { id: 'req-123', method: 'GET', url: '/api/things/7?x=1' },
      res: { statusCode: 200 },
      tenant: 'acme',
      user: 'alice',
    });
    expect(typeof line?.responseTime).toBe('number');
    expect(lines.filter((l) => l.msg === 'request completed')).toHaveLength(1);
    expect(JSON.stringify(lines)).not.toMatch(/authorization/i);
  });

  it("makes the request the context of the application's own lines", async () => {
    const { app, lines } = appWithLog();
    await request(app).get('/api/things/8').set('X-Request-Id', 'req-ctx');
    await settle();
    expect(lines.find((l) => l.msg === 'inside the handler')).toMatchObject({
      req: { id: 'req-ctx', method: 'GET', url: '/api/things/8' },
    });
  });

  it('gives a request without a sane X-Request-Id a fresh one', async () => {
    const { app, lines } = appWithLog();
    const res = await request(app).get('/api/things/9').set('X-Request-Id', 'bad id with spaces');
    expect(res.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    await settle();
    expect(lines.find((l) => l.msg === 'request completed')?.req?.id).toBe(
      res.headers['x-request-id'],
    );
  });

  it("marks a 5xx answer's line as errored, and leaves health probes out", async () => {
    const { app, lines } = appWithLog();
    await request(app).get('/api/boom').expect(503);
    await request(app).get('/health/live').expect(200);
    await settle();
    expect(lines.map((l) => [l.msg, l.req?.url])).toEqual([['request errored', '/api/boom']]);
    expect(lines[0].res?.statusCode).toBe(503);
  });

  it("gives an error answer's line the answer's code and message", async () => {
    const { app, lines } = appWithLog();
    await request(app).get('/api/missing').expect(404);
    await request(app).get('/api/boom').expect(503);
    await settle();
    expect(lines).toEqual([
      expect.objectContaining({
        msg: 'request completed',
        res: { statusCode: 404 },
        code: 'MODEL_NOT_FOUND',
        message: "model 'churn' not found",
      }),
      expect.objectContaining({
        msg: 'request errored',
        res: { statusCode: 503 },
        code: 'BACKEND_UNAVAILABLE',
        message: 'the registry backend is unavailable',
      }),
    ]);
  });

  it('writes readable lines with LOG_FORMAT=pretty: request, status, time, user, error', async () => {
    const lines: string[] = [];
    const log = new AccessLog(
      'info',
      logDestination(
        'pretty',
        sinkOf((t) => lines.push(t)),
      ),
    );
    const app = routes(log);
    await request(app).get('/api/missing').set('X-Request-Id', 'req-p1').expect(404);
    await request(app).get('/api/things/8').set('X-Request-Id', 'req-p2').expect(200);
    await settle();
    expect(lines).toEqual([
      expect.stringMatching(
        /^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: GET \/api\/missing 404 \d+ ms alice@acme MODEL_NOT_FOUND: model 'churn' not found$/,
      ),
      expect.stringMatching(
        /^\[[\d:.]+\] INFO: inside the handler \(GET \/api\/things\/8, request req-p2\)$/,
      ),
      expect.stringMatching(/^\[[\d:.]+\] INFO: GET \/api\/things\/8 200 \d+ ms alice@acme$/),
    ]);
  });

  it('logs a request whose client went away before the answer as aborted', async () => {
    const { app, lines } = appWithLog();
    await expect(request(app).get('/api/slow').timeout(100)).rejects.toThrow();
    await settle();
    expect(lines.map((l) => [l.msg, l.req?.url])).toEqual([['request aborted', '/api/slow']]);
  });
});
