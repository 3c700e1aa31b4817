import { request as httpRequest } from 'node:http';
import request from 'supertest';
import { Controller, Get } from '@nestjs/common';
import { Authenticated } from '../src/common/auth/authenticated.decorator';
import { Permission } from '../src/common/auth/roles';
import { FilesystemObjectStorage } from '../src/storage/filesystem-object-storage';
import { ObjectStorage } from '../src/storage/object-storage';
import { auth } from './support/fixtures';
import { listeningPort } from './support/slow-upload';
import { BASE, createTestApp, mintToken, removeDir, TestApp } from './support/test-app';

describe('health, errors and limits (e2e)', () => {
  let t: TestApp;
  let editor: string;

  beforeAll(async () => {
    t = await createTestApp({
      env: { MAX_JSON_BODY_BYTES: '2048', REQUEST_BODY_TIMEOUT_MS: '1000' },
    });
    editor = await t.token('alice', ['editor']);
  });

  afterAll(async () => {
    await t.close();
    removeDir(t.dataDir);
  });

  it('answers liveness and readiness without a token', async () => {
    expect((await request(t.http).get('/health/live').expect(200)).body).toEqual({ status: 'ok' });
    const ready = await request(t.http).get('/health/ready').expect(200);
    expect(ready.body).toEqual({
      status: 'ok',
      checks: {
        database: { status: 'up' },
        registry: { status: 'up' },
        storage: { status: 'up' },
        cache: { status: 'up' },
      },
    });
  });

  it('echoes a sane X-Request-Id and makes one otherwise', async () => {
    const kept = await request(t.http)
      .get('/health/live')
      .set('X-Request-Id', 'trace-123')
      .expect(200);
    expect(kept.headers['x-request-id']).toBe('trace-123');
    const made = await request(t.http)
      .get('/health/live')
      .set('X-Request-Id', 'bad id\twith tab')
      .expect(200);
    expect(made.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('answers unknown routes with the error shape', async () => {
    const res = await request(t.http)
      .get(`${BASE}/nowhere`)
      .set(...auth(editor))
      .expect(404);
    expect(res.body).toEqual({
      statusCode: 404,
      error: 'Not Found',
      message: 'no such route',
      code: 'ROUTE_NOT_FOUND',
      request_id: res.headers['x-request-id'],
    });
  });

  it('401 for a missing, malformed, expired or badly signed token', async () => {
    const cases: [string | undefined, RegExp][] = [
      [undefined, /^Authorization header with a bearer token is required$/],
      ['Basic YWxpY2U6c2VjcmV0', /^Authorization header must be 'Bearer <token>'$/],
      ['Bearer not.a.jwt', /malformed|invalid/],
      [
        `Bearer ${await mintToken({ tenant_id: 'acme-corp', roles: ['admin'] }, { sub: 'x', expiresIn: '-2m' })}`,
        /expired/,
      ],
      [
        `Bearer ${await mintToken({ tenant_id: 'acme-corp', roles: ['admin'] }, { sub: 'x', secret: 'another-secret-of-at-least-32-characters' })}`,
        /signature/,
      ],
    ];
    for (const [header, message] of cases) {
      const req = request(t.http).get(`${BASE}/models`);
      if (header) req.set('Authorization', header);
      const res = await req.expect(401);
      expect(res.body.code).toBe('UNAUTHENTICATED');
      expect(res.body.message).toMatch(message);
    }
  });

  it('400 for malformed JSON and 413 for a JSON body over the limit', async () => {
    const bad = await request(t.http)
      .post(`${BASE}/models`)
      .set(...auth(editor))
      .set('Content-Type', 'application/json')
      .send('{"name": ')
      .expect(400);
    expect(bad.body.code).toBe('VALIDATION_FAILED');
    expect(bad.body.message).toMatch(/^request body is not valid JSON/);
    const big = await request(t.http)
      .post(`${BASE}/models`)
      .set(...auth(editor))
      .send({ name: 'x', artifact_id: 'model-abcdef', description: 'x'.repeat(4096) })
      .expect(413);
    expect(big.body).toMatchObject({ statusCode: 413, code: 'PAYLOAD_TOO_LARGE' });
  });

  it('checks in order: 401, then 403, then 400, then 404', async () => {
    const viewer = await t.token('v', ['viewer']);
    await request(t.http).post(`${BASE}/models`).send({}).expect(401);
    await request(t.http)
      .post(`${BASE}/models`)
      .set(...auth(viewer))
      .send({})
      .expect(403);
    await request(t.http)
      .post(`${BASE}/models`)
      .set(...auth(editor))
      .send({})
      .expect(400);
    await request(t.http)
      .post(`${BASE}/models`)
      .set(...auth(editor))
      .send({ name: 'ok', artifact_id: 'model-abcdef' })
      .expect(404);
  });

  it('keeps that order for bodies that cannot be read: no token is 401, a viewer 403', async () => {
    const viewer = await t.token('v', ['viewer']);
    const broken = (token?: string) => {
      const req = request(t.http).post(`${BASE}/models`).set('Content-Type', 'application/json');
      if (token) req.set(...auth(token));
      return req;
    };
    await broken().send('{"name": ').expect(401);
    await broken()
      .send(JSON.stringify({ description: 'x'.repeat(4096) }))
      .expect(401);
    await broken(viewer).send('{"name": ').expect(403);
    await broken(viewer)
      .send(JSON.stringify({ description: 'x'.repeat(4096) }))
      .expect(403);
    await broken(editor).send('{"name": ').expect(400);
    await broken(editor)
      .send(JSON.stringify({ description: 'x'.repeat(4096) }))
      .expect(413);
  });

  it('lets long uploads run: no overall request timeout, only an idle one', () => {
    expect(t.http.requestTimeout).toBe(0);
    expect(t.http.timeout).toBe(120_000);
  });

  it('closes a connection whose JSON body trickles in slower than REQUEST_BODY_TIMEOUT_MS', async () => {
    const port = await listeningPort(t);
    const started = Date.now();
    const outcome = await new Promise<string>((resolve) => {
      const req = httpRequest(
        {
          host: '127.0.0.1',
          port,
          method: 'POST',
          path: `${BASE}/models`,
          headers: { 'Content-Type': 'application/json', 'Content-Length': '1000' },
        },
        (res) => resolve(`answered ${res.statusCode}`),
      );
      req.on('error', () => resolve('closed'));
      req.write('{"name": "');
      // ...and never more: no token, no end of body.
    });
    expect(outcome).toBe('closed');
    expect(Date.now() - started).toBeLessThan(5000);
  });
});

/** Storage that cannot be reached, with an error message full of internals. */
class UnreachableStorage extends FilesystemObjectStorage {
  override ping(): Promise<void> {
    return Promise.reject(new Error("EACCES: permission denied, stat '/srv/secret/artifacts'"));
  }
}

describe('readiness with a backend down (e2e)', () => {
  it('answers 503 with Retry-After, names the check, and keeps the reason to the log', async () => {
    const t = await createTestApp({
      override: (b) =>
        b.overrideProvider(ObjectStorage).useValue(new UnreachableStorage('/nonexistent')),
    });
    try {
      const res = await request(t.http).get('/health/ready').expect(503);
      expect(res.headers['retry-after']).toBe('5');
      expect(res.body).toEqual({
        status: 'unavailable',
        checks: {
          database: { status: 'up' },
          registry: { status: 'up' },
          storage: { status: 'down' },
          cache: { status: 'up' },
        },
      });
      await request(t.http).get('/health/live').expect(200);
    } finally {
      await t.close();
      removeDir(t.dataDir);
    }
  });
});

@Controller('explode')
class ExplodingController {
  @Get()
  @Authenticated(Permission.Read)
  explode(): never {
    throw new Error('SQLITE_CORRUPT: database disk image is malformed at /srv/secret/path');
  }
}

describe('an unexpected error (e2e)', () => {
  it('is a 500 with a request id and nothing internal', async () => {
    const t = await createTestApp({ controllers: [ExplodingController] });
    try {
      const token = await t.token('alice', ['viewer']);
      const res = await request(t.http)
        .get(`${BASE}/explode`)
        .set(...auth(token))
        .expect(500);
      expect(res.body).toEqual({
        statusCode: 500,
        error: 'Internal Server Error',
        code: 'INTERNAL_ERROR',
        message: `internal error; quote request id ${res.headers['x-request-id']} when reporting it`,
        request_id: res.headers['x-request-id'],
      });
      expect(JSON.stringify(res.body)).not.toMatch(/SQLITE|secret|at \//);
    } finally {
      await t.close();
      removeDir(t.dataDir);
    }
  });
});
