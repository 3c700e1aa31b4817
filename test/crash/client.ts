import { SignJWT } from 'jose';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { ClientRequest, IncomingMessage, request as httpRequest } from 'node:http';
import { TEST_SECRET } from '../support/service-process';
export const BASE = '/api/v1/ml/registry';

export type Role = 'viewer' | 'editor' | 'approver' | 'admin';

export function token(sub: string, roles: Role[], tenant = 'acme-corp'): Promise<string> {
  return new SignJWT({ tenant_id: tenant, roles })
    .setProtectedHeader({ alg: 'HS256' })
    .setIssuedAt()
    .setSubject(sub)
    .setExpirationTime('2h')
    .sign(new TextEncoder().encode(TEST_SECRET));
}

export interface Answer {
  status: number;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: any;
  headers: Headers;
}

/** One call to the service over HTTP (a real socket to the child process). */
export async function call(
  url: string,
  bearer: string,
  method: string,
  path: string,
  body?: unknown,
  timeoutMs = 30_000,
): Promise<Answer> {
  const res = await fetch(`${url}${BASE}${path}`, {
    method,
    headers: {
      Authorization: `Bearer ${bearer}`,
      ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}),
    },
    body: body !== undefined ? JSON.stringify(body) : undefined,
    signal: AbortSignal.timeout(timeoutMs),
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = text === '' ? null : JSON.parse(text);
  } catch {
    // not JSON: keep the text
  }
  return { status: res.status, body: parsed, headers: res.headers };
}

/** POST /artifacts with one model part (and a metrics.json). */
export async function upload(url: string, bearer: string, model: Buffer): Promise<Answer> {
  const form = new FormData();
  form.append('model', new Blob([model]), 'model.pkl');
  form.append('metrics', new Blob([JSON.stringify({ accuracy: 0.9 })]), 'metrics.json');
  const res = await fetch(`${url}${BASE}/artifacts`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${bearer}` },
    body: form,
    signal: AbortSignal.timeout(120_000),
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // keep the text
  }
  return { status: res.status, body: parsed, headers: res.headers };
}

/** Uploads `model` and registers it as the next version of `name`; throws unless 201/201. */
export async function registerVersion(
  url: string,
  bearer: string,
  name: string,
  model: Buffer,
): Promise<{ version: number; artifact_id: string }> {
  const up = await upload(url, bearer, model);
  if (up.status !== 201) throw new Error(`upload: ${up.status} ${JSON.stringify(up.body)}`);
  const reg = await call(url, bearer, 'POST', '/models', {
    name,
    artifact_id: up.body.artifact_id,
  });
  if (reg.status !== 201) throw new Error(`register: ${reg.status} ${JSON.stringify(reg.body)}`);
  return reg.body;
}

export async function downloadSha256(
  url: string,
  bearer: string,
  artifactId: string,
  file: string,
): Promise<{ status: number; sha256: string; size: number }> {
  const res = await fetch(`${url}${BASE}/artifacts/${artifactId}/files/${file}`, {
    headers: { Authorization: `Bearer ${bearer}` },
    signal: AbortSignal.timeout(60_000),
  });
  const bytes = Buffer.from(await res.arrayBuffer());
  return {
    status: res.status,
    sha256: createHash('sha256').update(bytes).digest('hex'),
    size: bytes.length,
  };
}

export interface ConsistencyReport {
  models: number;
  versions: number;
  filesChecked: number;
  problems: string[];
}

/**
 * Walks the tenant's whole registry through the API: every version of every model must point
 * at an artifact whose manifest answers and whose every file downloads with the recorded
 * size and SHA-256. Returns the problems found (none, for a consistent registry).
 */
export async function checkConsistency(url: string, bearer: string): Promise<ConsistencyReport> {
  const report: ConsistencyReport = { models: 0, versions: 0, filesChecked: 0, problems: [] };
  const models = await call(url, bearer, 'GET', '/models?max_results=1000');
  if (models.status !== 200) {
    report.problems.push(`GET /models: ${models.status}`);
    return report;
  }
  for (const m of models.body.models as { name: string }[]) {
    report.models++;
    const versions = await call(url, bearer, 'GET', `/models/${m.name}/versions`);
    if (versions.status !== 200) {
      report.problems.push(`GET /models/${m.name}/versions: ${versions.status}`);
      continue;
    }
    for (const v of versions.body.versions as { version: number; artifact_id: string | null }[]) {
      report.versions++;
      const where = `${m.name} v${v.version}`;
      if (v.artifact_id === null) {
        report.problems.push(`${where}: no artifact_id`);
        continue;
      }
      const manifest = await call(url, bearer, 'GET', `/artifacts/${v.artifact_id}`);
      if (manifest.status !== 200) {
        report.problems.push(`${where}: manifest of ${v.artifact_id} answers ${manifest.status}`);
        continue;
      }
      for (const f of manifest.body.files as { name: string; size: number; sha256: string }[]) {
        const got = await downloadSha256(url, bearer, v.artifact_id, f.name);
        report.filesChecked++;
        if (got.status !== 200) report.problems.push(`${where} ${f.name}: ${got.status}`);
        else if (got.sha256 !== f.sha256 || got.size !== f.size)
          report.problems.push(`${where} ${f.name}: bytes do not match the recorded SHA-256`);
      }
    }
  }
  return report;
}

export async function eventually<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs: number,
  intervalMs = 250,
): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > until) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * A multipart upload of one `model` part of `declaredBytes`, written by hand so the test
 * decides when bytes go out: write() some, then kill the service mid-body.
 */
export function rawUpload(
  url: string,
  bearer: string,
  declaredBytes: number,
): {
  write: (bytes: Buffer) => boolean;
  finish: () => void;
  req: ClientRequest;
  done: Promise<number>;
} {
  const { req, head, tail } = openModelUpload(url, bearer, declaredBytes);
  const done = new Promise<number>((resolve) => {
    req.on('response', (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', () => resolve(-1));
  });
  req.write(head);
  return { req, done, write: (bytes) => req.write(bytes), finish: () => void req.end(tail) };
}

/**
 * POST /artifacts with a `model.pkl` of `size` bytes made on the fly (one random MiB over and
 * over), streamed with backpressure: a file of hundreds of MiB without holding it in memory.
 */
export async function uploadGenerated(url: string, bearer: string, size: number): Promise<Answer> {
  const { req, head, tail } = openModelUpload(url, bearer, size);
  const answered = once(req, 'response') as Promise<[IncomingMessage]>;
  answered.catch(() => undefined); // a failure shows below, from whichever await meets it
  const block = randomBytes(1024 * 1024);
  req.write(head);
  for (let sent = 0; sent < size; sent += block.length) {
    if (!req.write(block.subarray(0, Math.min(block.length, size - sent)))) {
      await Promise.race([once(req, 'drain'), answered]);
    }
  }
  req.end(tail);
  const [res] = await answered;
  let text = '';
  for await (const chunk of res) text += (chunk as Buffer).toString();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // keep the text
  }
  return { status: res.statusCode ?? 0, body: parsed, headers: new Headers() };
}

/**
 * A POST /artifacts of one `model.pkl` part of `modelBytes`, opened by hand: the caller writes
 * `head`, the model's bytes when it likes, then ends with `tail`.
 */
function openModelUpload(
  url: string,
  bearer: string,
  modelBytes: number,
): { req: ClientRequest; head: Buffer; tail: Buffer } {
  const boundary = 'crash-test-boundary';
  const head = Buffer.from(
    `--${boundary}\r\nContent-Disposition: form-data; name="model"; filename="model.pkl"\r\n` +
      'Content-Type: application/octet-stream\r\n\r\n',
  );
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
  const u = new URL(url);
  const req = httpRequest({
    host: u.hostname,
    port: Number(u.port),
    method: 'POST',
    path: `${BASE}/artifacts`,
    headers: {
      Authorization: `Bearer ${bearer}`,
      'Content-Type': `multipart/form-data; boundary=${boundary}`,
      'Content-Length': String(head.length + modelBytes + tail.length),
    },
  });
  return { req, head, tail };
}
