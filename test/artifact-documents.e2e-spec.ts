/**
 * The metadata documents of an upload (config.json, metrics.json, requirements.txt) are kept as
 * the bytes the client sent, whether it sent them as file parts or as form fields (no
 * filename), and checked as bytes alike: UTF-8 (RFC 8259 §8.1), a leading byte order mark
 * accepted. Runs on the real stack too (jest project `e2e-real`): S3 must keep the bytes as well.
 */
import { createHash, randomBytes } from 'node:crypto';
import request from 'supertest';
import { auth, download } from './support/fixtures';
import { BASE, createTestApp, removeDir, TestApp } from './support/test-app';

const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
const BOM = Buffer.from([0xef, 0xbb, 0xbf]);
const BOUNDARY = 'documents-boundary';

interface Part {
  name: string;
  bytes: Buffer;
  /** Absent: a form field (Content-Disposition without filename). */
  filename?: string;
  contentType?: string;
}

/** A multipart/form-data body written byte by byte, so each part is exactly what a test says. */
function multipart(parts: Part[]): Buffer {
  const chunks: Buffer[] = [];
  for (const p of parts) {
    let head = `--${BOUNDARY}\r\nContent-Disposition: form-data; name="${p.name}"`;
    if (p.filename !== undefined) head += `; filename="${p.filename}"`;
    head += '\r\n';
    if (p.contentType !== undefined) head += `Content-Type: ${p.contentType}\r\n`;
    chunks.push(Buffer.from(`${head}\r\n`, 'latin1'), p.bytes, Buffer.from('\r\n'));
  }
  chunks.push(Buffer.from(`--${BOUNDARY}--\r\n`));
  return Buffer.concat(chunks);
}

const model = (): Part => ({
  name: 'model',
  filename: 'model.pkl',
  contentType: 'application/octet-stream',
  bytes: randomBytes(256),
});

describe('artifact metadata documents, as sent (e2e)', () => {
  let t: TestApp;
  let editor: string;

  beforeAll(async () => {
    t = await createTestApp();
    editor = await t.token('alice', ['editor']);
  });

  afterAll(async () => {
    await t.close();
    removeDir(t.dataDir);
  });

  function send(parts: Part[]): request.Test {
    return request(t.http)
      .post(`${BASE}/artifacts`)
      .set(...auth(editor))
      .set('Content-Type', `multipart/form-data; boundary=${BOUNDARY}`)
      .send(multipart(parts));
  }

  async function storedBytes(artifactId: string, file: string): Promise<Buffer> {
    const res = await download(t, editor, artifactId, file).expect(200);
    return res.body as Buffer;
  }

  it('keeps a form field byte for byte: a latin1-declared config is not re-encoded, its SHA-256 is of the bytes sent', async () => {
    const config = Buffer.from(
      JSON.stringify({ hyperparameters: { note: 'café' }, owner: 'Zoë' }),
      'utf8',
    );
    const res = await send([
      model(),
      { name: 'config', contentType: 'text/plain; charset=latin1', bytes: config },
    ]).expect(201);
    const file = (res.body.files as { name: string; sha256: string }[]).find(
      (f) => f.name === 'config.json',
    );
    expect(file?.sha256).toBe(sha256(config));
    expect((await storedBytes(res.body.artifact_id, 'config.json')).equals(config)).toBe(true);
    // And it is read as the UTF-8 it is: the parameter registers as sent.
    const version = await request(t.http)
      .post(`${BASE}/models`)
      .set(...auth(editor))
      .send({ name: 'documents-latin1', artifact_id: res.body.artifact_id })
      .expect(201);
    expect(version.body.parameters).toEqual({ note: 'café' });
  });

  it.each([
    ['requirements', 'requirements.txt'],
    ['metrics', 'metrics.json'],
    ['config', 'config.json'],
  ])(
    'refuses %s that is not UTF-8, as a form field exactly as a file part, storing nothing',
    async (name, file) => {
      const bytes = Buffer.concat([
        Buffer.from(name === 'requirements' ? 'numpy==1.26' : '{"f1_score'),
        Buffer.from([0xff, 0xfe]),
        Buffer.from(name === 'requirements' ? '\n' : '": 0.9}'),
      ]);
      for (const part of [
        { name, bytes },
        { name, bytes, filename: file, contentType: 'application/json' },
      ]) {
        const res = await send([model(), part]).expect(400);
        expect(res.body.message).toBe(`${file} must be UTF-8 text`);
      }
    },
  );

  it('accepts metrics.json and config.json that start with a byte order mark, and keeps it', async () => {
    const metrics = Buffer.concat([BOM, Buffer.from('{"f1_score": 0.91}')]);
    const config = Buffer.concat([BOM, Buffer.from('{"hyperparameters": {"depth": 6}}')]);
    const res = await send([
      model(),
      { name: 'metrics', filename: 'metrics.json', bytes: metrics },
      { name: 'config', bytes: config },
    ]).expect(201);
    expect((await storedBytes(res.body.artifact_id, 'metrics.json')).equals(metrics)).toBe(true);
    const version = await request(t.http)
      .post(`${BASE}/models`)
      .set(...auth(editor))
      .send({ name: 'documents-bom', artifact_id: res.body.artifact_id })
      .expect(201);
    expect(version.body.metrics).toEqual({ f1_score: 0.91 });
    expect(version.body.parameters).toEqual({ depth: 6 });
  });

  it('accepts a JSON request body that starts with a byte order mark, as before', async () => {
    const up = await send([model()]).expect(201);
    // A string goes out as UTF-8: U+FEFF is the bytes EF BB BF.
    await request(t.http)
      .post(`${BASE}/models`)
      .set(...auth(editor))
      .set('Content-Type', 'application/json')
      .send(
        `\uFEFF${JSON.stringify({ name: 'documents-body-bom', artifact_id: up.body.artifact_id })}`,
      )
      .expect(201);
  });
});
