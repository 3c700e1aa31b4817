import request from 'supertest';
import { randomBytes } from 'node:crypto';
import { BASE, TestApp } from './test-app';

export interface UploadParts {
  model?: Buffer | false;
  modelName?: string;
  metrics?: Record<string, unknown> | string;
  config?: Record<string, unknown> | string;
  requirements?: string;
  preprocessor?: Buffer;
}

const asBuffer = (v: Record<string, unknown> | string): Buffer =>
  Buffer.from(typeof v === 'string' ? v : JSON.stringify(v));

export function upload(t: TestApp, token: string, parts: UploadParts = {}): request.Test {
  let req = request(t.http).post(`${BASE}/artifacts`).set('Authorization', `Bearer ${token}`);
  if (parts.model !== false) {
    req = req.attach('model', parts.model ?? randomBytes(2048), parts.modelName ?? 'model.pkl');
  }
  if (parts.metrics !== undefined)
    req = req.attach('metrics', asBuffer(parts.metrics), 'metrics.json');
  if (parts.config !== undefined) req = req.attach('config', asBuffer(parts.config), 'config.json');
  if (parts.requirements !== undefined) {
    req = req.attach('requirements', Buffer.from(parts.requirements), 'requirements.txt');
  }
  if (parts.preprocessor !== undefined)
    req = req.attach('preprocessor', parts.preprocessor, 'preprocessor.pkl');
  return req;
}

/** Uploads an artifact and registers it; returns the version body. */
export async function registerVersion(
  t: TestApp,
  token: string,
  name: string,
  body: Record<string, unknown> = {},
  parts: UploadParts = {},
): Promise<{ version: number; artifact_id: string; [k: string]: unknown }> {
  const up = await upload(t, token, parts).expect(201);
  const res = await request(t.http)
    .post(`${BASE}/models`)
    .set('Authorization', `Bearer ${token}`)
    .send({ name, artifact_id: up.body.artifact_id, ...body })
    .expect(201);
  return res.body;
}

export const auth = (token: string): [string, string] => ['Authorization', `Bearer ${token}`];

/** GET a file and collect its bytes. */
export function download(
  t: TestApp,
  token: string,
  artifactId: string,
  file: string,
): request.Test {
  return request(t.http)
    .get(`${BASE}/artifacts/${artifactId}/files/${file}`)
    .set('Authorization', `Bearer ${token}`)
    .buffer(true)
    .parse((res, done) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => done(null, Buffer.concat(chunks)));
    });
}
