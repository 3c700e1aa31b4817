/**
 * OWASP API4:2023 Unrestricted Resource Consumption, the early answer: a request answered
 * before its body has arrived (401, 403, 404, 413, 415, 429, an upload refused at its first
 * part) whose client then withholds the rest of the body, trickles it, or abandons the
 * connection. Whatever the client does after the answer, the process lives, the connection is
 * closed by REQUEST_BODY_TIMEOUT_MS at the latest, and the next request is answered.
 *
 * The service runs as a child process (`node dist/main.js`), because "the process lives" is the
 * point: a timer or stream callback that throws after the answer ends the process. The routes
 * are every operation of the service's own OpenAPI document, so a new route is covered by
 * construction; in the `e2e-real` project the same suite runs with every backend real.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { registerVersion, token, call as callService } from '../crash/client';
import {
  ACCESS,
  fillPath,
  hasJsonBody,
  OpenApiDocument,
  operationsOf,
  pathParams,
  REQUIRED_QUERY,
  SecurityLog,
  withQuery,
} from '../support/security-harness';
import { ServiceProcess, startService } from '../support/service-process';
import { slowUpload } from '../support/slow-upload';
import { backendEnv, BASE } from '../support/test-app';

jest.setTimeout(180_000);

const CAT = 'API4 resource consumption';
const DEADLINE_MS = 1500;
const JSON_LIMIT = 16 * 1024;
const FILE_LIMIT = 64 * 1024;
const METADATA_LIMIT = 4096;
/** Requests per minute and user; the `limited` user spends them all before the attack. */
const RATE_LIMIT = 6;
const BOUNDARY = 'early-answer-boundary';

type Mode = 'withheld' | 'trickled' | 'abandoned';
const MODES: Mode[] = ['withheld', 'trickled', 'abandoned'];

interface Case {
  what: string;
  method: string;
  path: string;
  headers: Record<string, string>;
  /** The first bytes of the body (the rest never comes, or comes a byte at a time). */
  first: Buffer;
  expect: number;
}

interface Outcome {
  status?: number;
  answeredAfterMs?: number;
  closedByServerAfterMs?: number;
}

/** A multipart upload whose first part is one the service refuses on sight. */
function refusedFirstPart(): Buffer {
  return Buffer.from(
    `--${BOUNDARY}\r\nContent-Disposition: form-data; name="weights"; filename="w.bin"\r\n` +
      'Content-Type: application/octet-stream\r\n\r\nxx',
  );
}

/** A multipart upload whose model part is larger than ARTIFACT_MAX_FILE_BYTES. */
function oversizeFirstPart(): Buffer {
  return Buffer.concat([
    Buffer.from(
      `--${BOUNDARY}\r\nContent-Disposition: form-data; name="model"; filename="model.pkl"\r\n` +
        'Content-Type: application/octet-stream\r\n\r\n',
    ),
    randomBytes(FILE_LIMIT + 1024),
  ]);
}

/**
 * Sends `c` on a new connection in `mode`: the head and the first bytes, then nothing more
 * (withheld), one byte every 200 ms (trickled), or a closed socket once answered (abandoned).
 */
function attack(port: number, c: Case, mode: Mode): { outcome: Outcome; settled: Promise<void> } {
  const outcome: Outcome = {};
  const started = Date.now();
  const socket: Socket = connect(port, '127.0.0.1');
  let trickle: NodeJS.Timeout | undefined;
  let received = '';
  let closedByClient = false;
  socket.on('error', () => undefined);
  socket.on('data', (chunk: Buffer) => {
    received += chunk.toString('latin1');
    const status = /^HTTP\/1\.1 (\d{3})/.exec(received);
    if (status !== null && outcome.status === undefined) {
      outcome.status = Number(status[1]);
      outcome.answeredAfterMs = Date.now() - started;
      if (mode === 'abandoned') {
        closedByClient = true;
        socket.destroy();
      }
    }
  });
  const settled = new Promise<void>((resolve) => {
    socket.on('close', () => {
      clearInterval(trickle);
      if (!closedByClient) outcome.closedByServerAfterMs = Date.now() - started;
      resolve();
    });
  });
  const head =
    `${c.method.toUpperCase()} ${c.path} HTTP/1.1\r\nHost: 127.0.0.1\r\n` +
    Object.entries(c.headers)
      .map(([k, v]) => `${k}: ${v}\r\n`)
      .join('') +
    '\r\n';
  socket.write(Buffer.concat([Buffer.from(head, 'latin1'), c.first]));
  if (mode === 'trickled') {
    trickle = setInterval(() => socket.write('x'), 200);
  }
  return { outcome, settled };
}

describe('OWASP API4: early answers with the body withheld, trickled or abandoned (e2e)', () => {
  const log = new SecurityLog('api4-early-answers');
  let dataDir: string;
  let service: ServiceProcess;
  let spec: OpenApiDocument;
  let ids: Record<string, string | number>;
  const missing: Record<string, string | number> = {
    name: 'no-such-model',
    version: 999,
    id: randomUUID(),
    artifact_id: 'model-aaaaaaaaaaaaaaaa',
    file: 'model.pkl',
    alias: 'challenger',
    webhook_id: 'wh_00000000000000000000',
    delivery_id: 'dlv_000000000000000000000000',
  };

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'registry-early-'));
    service = await startService({
      dataDir,
      env: {
        ...(await backendEnv(dataDir)),
        REQUEST_BODY_TIMEOUT_MS: String(DEADLINE_MS),
        RATE_LIMIT_PER_MINUTE: String(RATE_LIMIT),
        MAX_JSON_BODY_BYTES: String(JSON_LIMIT),
        ARTIFACT_MAX_FILE_BYTES: String(FILE_LIMIT),
        ARTIFACT_MAX_METADATA_BYTES: String(METADATA_LIMIT),
      },
    });
    spec = (await (await fetch(`${service.url}/docs-json`)).json()) as OpenApiDocument;
    // Each seeding step as another user: RATE_LIMIT is low on purpose.
    await registerVersion(
      service.url,
      await token('seed-1', ['editor']),
      'ea-model',
      randomBytes(64),
    );
    await registerVersion(
      service.url,
      await token('seed-2', ['editor']),
      'ea-model',
      randomBytes(64),
    );
    const request = await callService(
      service.url,
      await token('seed-3', ['editor']),
      'POST',
      '/models/ea-model/versions/2/stage',
      { stage: 'production' },
    );
    expect(request.status).toBe(202);
    ids = {
      name: 'ea-model',
      version: 1,
      id: request.body.approval.id,
      file: 'model.pkl',
      alias: 'challenger',
    };
    const manifest = await callService(
      service.url,
      await token('seed-4', ['viewer']),
      'GET',
      '/models/ea-model/versions/1',
    );
    ids.artifact_id = manifest.body.artifact_id;
    const hookAdmin = await token('seed-5', ['admin']);
    const hook = await callService(service.url, hookAdmin, 'POST', '/webhooks', {
      url: 'https://ci.example/hooks/registry',
      events: ['*'],
    });
    ids.webhook_id = hook.body.id;
    const delivery = await callService(
      service.url,
      hookAdmin,
      'POST',
      `/webhooks/${hook.body.id}/test`,
    );
    ids.delivery_id = delivery.body.id;
  });

  afterAll(async () => {
    log.write();
    await service?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  let users = 0;
  /** A token of a user of its own: no case spends another's rate limit. */
  const fresh = (roles: Parameters<typeof token>[1]): Promise<string> =>
    token(`early-${++users}`, roles);

  /** Every early answer each documented operation can give, plus routes that do not exist. */
  async function cases(limited: string): Promise<Case[]> {
    const out: Case[] = [];
    const text = { 'Content-Type': 'text/plain', 'Content-Length': '100' };
    for (const o of operationsOf(spec)) {
      const access = ACCESS[o.key];
      if (access === undefined) throw new Error(`no access rule for ${o.key}: add it to ACCESS`);
      const url = withQuery(fillPath(o.path, ids), REQUIRED_QUERY[o.key]);
      const upload = o.key === 'post /artifacts';
      const one = Buffer.from('x');
      if (access === 'public') {
        out.push({
          what: `${o.key} public`,
          method: o.method,
          path: url,
          headers: text,
          first: one,
          expect: 200,
        });
        continue;
      }
      const as = async (roles: Parameters<typeof token>[1]): Promise<Record<string, string>> => ({
        ...text,
        Authorization: `Bearer ${await fresh(roles)}`,
      });
      out.push({
        what: `${o.key} no token`,
        method: o.method,
        path: url,
        headers: text,
        first: one,
        expect: 401,
      });
      if (access === 'write' || access === 'decide' || access === 'admin') {
        out.push({
          what: `${o.key} viewer`,
          method: o.method,
          path: url,
          headers: await as(['viewer']),
          first: one,
          expect: 403,
        });
      }
      out.push({
        what: `${o.key} rate limited`,
        method: o.method,
        path: url,
        headers: { ...text, Authorization: `Bearer ${limited}` },
        first: one,
        expect: 429,
      });
      if (hasJsonBody(o.op) || upload) {
        out.push({
          what: `${o.key} not JSON`,
          method: o.method,
          path: url,
          headers: await as(['admin']),
          first: one,
          expect: 415,
        });
      }
      if (hasJsonBody(o.op)) {
        out.push({
          what: `${o.key} declared too large`,
          method: o.method,
          path: url,
          headers: {
            ...(await as(['admin'])),
            'Content-Type': 'application/json',
            'Content-Length': String(JSON_LIMIT + 1),
          },
          first: Buffer.from('{'),
          expect: 413,
        });
      } else if (!upload && pathParams(o.path).length > 0) {
        out.push({
          what: `${o.key} not found`,
          method: o.method,
          path: withQuery(fillPath(o.path, missing), REQUIRED_QUERY[o.key]),
          headers: await as(['admin']),
          first: one,
          expect: 404,
        });
      }
    }
    // The upload, also by the paths Express routes to it, refused at its first part or by size.
    const multipart = async (size: number): Promise<Record<string, string>> => ({
      Authorization: `Bearer ${await fresh(['editor'])}`,
      'Content-Type': `multipart/form-data; boundary=${BOUNDARY}`,
      'Content-Length': String(size),
    });
    for (const path of [`${BASE}/artifacts`, `${BASE}/artifacts/`, `${BASE}/ARTIFACTS`]) {
      out.push({
        what: `POST ${path} refused part`,
        method: 'post',
        path,
        headers: await multipart(10_000),
        first: refusedFirstPart(),
        expect: 400,
      });
      out.push({
        what: `POST ${path} part too large`,
        method: 'post',
        path,
        headers: await multipart(FILE_LIMIT * 4),
        first: oversizeFirstPart(),
        expect: 413,
      });
      out.push({
        what: `POST ${path} declared too large`,
        method: 'post',
        path,
        headers: await multipart(FILE_LIMIT * 100),
        first: Buffer.from('-'),
        expect: 413,
      });
      out.push({
        what: `POST ${path} no token`,
        method: 'post',
        path,
        headers: {
          'Content-Type': `multipart/form-data; boundary=${BOUNDARY}`,
          'Content-Length': '10000',
        },
        first: refusedFirstPart(),
        expect: 401,
      });
    }
    for (const [method, path] of [
      ['post', `${BASE}/no-such-route`],
      ['put', `${BASE}/models`],
      ['post', '/health/live'],
    ]) {
      out.push({
        what: `${method} ${path} no route`,
        method,
        path,
        headers: text,
        first: Buffer.from('x'),
        expect: 404,
      });
    }
    return out;
  }

  it('answers each early, closes the connection by the deadline, and lives on', async () => {
    // The `limited` user spends the whole minute's allowance first.
    const limited = await fresh(['admin']);
    for (let i = 0; i < RATE_LIMIT; i++) {
      expect((await callService(service.url, limited, 'GET', '/models')).status).toBe(200);
    }
    const all = await cases(limited);
    expect(all.length).toBeGreaterThan(60);
    const sent = all.flatMap((c) =>
      MODES.map((mode) => ({ c, mode, ...attack(service.port, c, mode) })),
    );
    await Promise.race([
      Promise.all(sent.map((s) => s.settled)),
      new Promise((r) => setTimeout(r, DEADLINE_MS + 5000)),
    ]);
    log.attack(CAT, sent.length);

    // First: the process is alive, and answers the next requests.
    expect(service.child.exitCode).toBeNull();
    expect((await fetch(`${service.url}/health/live`)).status).toBe(200);
    const next = await callService(service.url, await fresh(['viewer']), 'GET', '/models/ea-model');
    expect(next.status).toBe(200);
    expect(service.output()).not.toMatch(/ERR_HTTP_HEADERS_SENT|"level":60/);

    const wrong = sent
      .filter(({ c, outcome }) => outcome.status !== c.expect)
      .map(
        ({ c, mode, outcome }) =>
          `${c.what} (${mode}): ${outcome.status ?? 'no answer'}, expected ${c.expect}`,
      );
    expect(wrong).toEqual([]);
    // Early: well before the deadline, not when it cut the connection.
    const late = sent
      .filter(({ outcome }) => (outcome.answeredAfterMs ?? Infinity) >= DEADLINE_MS)
      .map(({ c, mode, outcome }) => `${c.what} (${mode}) after ${outcome.answeredAfterMs} ms`);
    expect(late).toEqual([]);
    // Withheld and trickled bodies hold no connection past the deadline (+ margin for timers).
    const held = sent
      .filter(({ mode }) => mode !== 'abandoned')
      .filter(({ outcome }) => (outcome.closedByServerAfterMs ?? Infinity) > DEADLINE_MS + 4000)
      .map(({ c, mode }) => `${c.what} (${mode})`);
    expect(held).toEqual([]);
  });

  it('lets an allowed upload take longer than the deadline, on every path routed to it', async () => {
    const editor = await fresh(['editor']);
    const paths = [`${BASE}/artifacts`, `${BASE}/artifacts/`, `${BASE}/ARTIFACTS`];
    const uploads = paths.map((path) => slowUpload(service.port, editor, 3000, path));
    // 3,000 bytes over twice the deadline.
    for (let i = 0; i < 6; i++) {
      for (const u of uploads) u.write(randomBytes(500));
      await new Promise((r) => setTimeout(r, DEADLINE_MS / 3));
    }
    for (const u of uploads) u.finish();
    const answers = await Promise.all(uploads.map((u) => u.response));
    expect(answers.map((a) => a.status)).toEqual([201, 201, 201]);
  });
});
