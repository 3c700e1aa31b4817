import { createHash, randomBytes } from 'node:crypto';
import { get as httpGet, IncomingHttpHeaders } from 'node:http';
import { Readable } from 'node:stream';
import request from 'supertest';
import { ObjectStorage } from '../src/storage/object-storage';
import { auth, download, upload } from './support/fixtures';
import { listeningPort } from './support/slow-upload';
import { BASE, createTestApp, removeDir, TestApp } from './support/test-app';

const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
const reprDigest = (b: Buffer): string =>
  `sha-256=:${createHash('sha256').update(b).digest('base64')}:`;
const MiB = 1024 * 1024;

interface RawAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
  /** The whole body announced arrived. */
  complete: boolean;
}

/**
 * A GET with Node's own client, for what supertest hides: a body cut off by the server, or a
 * client that gives up after `stopAfter` bytes (it destroys its socket and keeps what it got).
 */
function rawGet(
  t: TestApp,
  path: string,
  headers: Record<string, string>,
  stopAfter = Number.POSITIVE_INFINITY,
): Promise<RawAnswer> {
  return listeningPort(t).then(
    (port) =>
      new Promise<RawAnswer>((resolve, reject) => {
        const req = httpGet({ host: '127.0.0.1', port, path, headers }, (res) => {
          const chunks: Buffer[] = [];
          let received = 0;
          const done = (complete: boolean) =>
            resolve({
              status: res.statusCode ?? 0,
              headers: res.headers,
              body: Buffer.concat(chunks),
              complete,
            });
          res.on('data', (chunk: Buffer) => {
            chunks.push(chunk);
            received += chunk.length;
            if (received >= stopAfter) {
              req.destroy();
              done(false);
            }
          });
          res.on('error', () => undefined);
          res.on('close', () => done(res.complete));
        });
        req.on('error', (err) => (req.destroyed ? undefined : reject(err)));
      }),
  );
}

describe('artifact downloads: conditional requests and byte ranges (e2e)', () => {
  let t: TestApp;
  let editor: string;
  let viewer: string;
  const model = randomBytes(50_000);
  const etag = `"sha256-${sha256(model)}"`;
  let id: string;
  let path: string;

  beforeAll(async () => {
    t = await createTestApp({ env: { ARTIFACT_MAX_FILE_BYTES: String(32 * MiB) } });
    editor = await t.token('alice', ['editor']);
    viewer = await t.token('victor', ['viewer']);
    id = (await upload(t, editor, { model }).expect(201)).body.artifact_id;
    path = `${BASE}/artifacts/${id}/files/model.pkl`;
  });

  afterAll(async () => {
    await t.close();
    removeDir(t.dataDir);
  });

  const get = (headers: Record<string, string> = {}) => {
    let req = download(t, viewer, id, 'model.pkl');
    for (const [name, value] of Object.entries(headers)) req = req.set(name, value);
    return req;
  };

  /** The headers that describe the whole file, whatever part of it is sent. */
  const expectWholeFileDigests = (headers: Record<string, string>) => {
    expect(headers['etag']).toBe(etag);
    expect(headers['x-checksum-sha256']).toBe(sha256(model));
    expect(headers['repr-digest']).toBe(reprDigest(model));
  };

  it('says it serves byte ranges on a whole download', async () => {
    const res = await get().expect(200);
    expect(res.headers['accept-ranges']).toBe('bytes');
    expect(Buffer.compare(res.body as Buffer, model)).toBe(0);
    expectWholeFileDigests(res.headers);
  });

  it.each([
    ['the strong ETag', () => etag],
    ['its weak form', () => `W/${etag}`],
    ['*', () => '*'],
    ['a list holding it', () => `"sha256-${'0'.repeat(64)}", W/"x", ${etag}`],
  ])(
    'answers If-None-Match with %s by 304: no body, the digests and Cache-Control',
    async (_, field) => {
      const res = await get({ 'If-None-Match': field() }).expect(304);
      expect((res.body as Buffer).length).toBe(0);
      expectWholeFileDigests(res.headers);
      expect(res.headers['cache-control']).toBe('no-store');
      expect(res.headers['content-disposition']).toBeUndefined();
      // If-None-Match comes before Range (RFC 9110 §13.2.2).
      await get({ 'If-None-Match': field(), Range: 'bytes=0-9' }).expect(304);
    },
  );

  it('answers an If-None-Match naming other files with the whole file', async () => {
    for (const field of [`"sha256-${'0'.repeat(64)}"`, `sha256-${sha256(model)}`, 'W/"x", "y"']) {
      const res = await get({ 'If-None-Match': field }).expect(200);
      expect(Buffer.compare(res.body as Buffer, model)).toBe(0);
      expect(res.headers['accept-ranges']).toBe('bytes');
    }
  });

  it.each([
    ['bytes=0-99', 0, 99],
    ['bytes=20000-29999', 20_000, 29_999],
    ['bytes=49000-', 49_000, 49_999],
    ['bytes=-1000', 49_000, 49_999],
    ['bytes=7-7', 7, 7],
    ['bytes=49999-49999', 49_999, 49_999],
    ['bytes=40000-999999', 40_000, 49_999],
    ['bytes=-999999', 0, 49_999],
  ])('answers Range %s with 206 and exactly those bytes', async (range, start, end) => {
    const res = await get({ Range: range }).expect(206);
    expect(Buffer.compare(res.body as Buffer, model.subarray(start, end + 1))).toBe(0);
    expect(res.headers['content-range']).toBe(`bytes ${start}-${end}/${model.length}`);
    expect(res.headers['content-length']).toBe(String(end - start + 1));
    expect(res.headers['content-type']).toBe('application/octet-stream');
    expect(res.headers['content-disposition']).toBe('attachment; filename="model.pkl"');
    expect(res.headers['accept-ranges']).toBe('bytes');
    expectWholeFileDigests(res.headers);
  });

  it('answers a Range past the end with 416, bytes */size and the error body (after 400 and 404)', async () => {
    for (const range of ['bytes=50000-', 'bytes=60000-70000', 'bytes=-0']) {
      const res = await request(t.http)
        .get(path)
        .set(...auth(viewer))
        .set('Range', range)
        .expect(416);
      expect(res.headers['content-range']).toBe(`bytes */${model.length}`);
      expect(res.body).toEqual({
        statusCode: 416,
        error: 'Range Not Satisfiable',
        message: `Range selects no byte of model.pkl, which has ${model.length} bytes`,
        code: 'RANGE_NOT_SATISFIABLE',
        request_id: expect.any(String),
      });
    }
    // No stored file is empty: an empty optional part is read as not sent (an empty form input).
    const empty = await upload(t, editor, { requirements: '' }).expect(201);
    const none = await request(t.http)
      .get(`${BASE}/artifacts/${empty.body.artifact_id}/files/requirements.txt`)
      .set(...auth(viewer))
      .set('Range', 'bytes=0-')
      .expect(404);
    expect(none.body.code).toBe('ARTIFACT_FILE_NOT_FOUND');
    // What the path says is checked first: a file the artifact lacks, an artifact of nobody.
    const missing = await request(t.http)
      .get(`${BASE}/artifacts/${id}/files/config.json`)
      .set(...auth(viewer))
      .set('Range', 'bytes=999999-');
    expect([missing.status, missing.body.code]).toEqual([404, 'ARTIFACT_FILE_NOT_FOUND']);
    await request(t.http)
      .get(`${BASE}/artifacts/${id}/files/model.exe`)
      .set(...auth(viewer))
      .set('Range', 'bytes=999999-')
      .expect(400);
  });

  it('serves the range under If-Range only while the ETag still matches', async () => {
    const same = await get({ Range: 'bytes=100-199', 'If-Range': etag }).expect(206);
    expect(Buffer.compare(same.body as Buffer, model.subarray(100, 200))).toBe(0);
    // Another file by now (or a weak tag, or a date): the whole current file instead.
    for (const validator of [
      `"sha256-${'0'.repeat(64)}"`,
      `W/${etag}`,
      'Tue, 01 Dec 2026 10:00:00 GMT',
    ]) {
      const changed = await get({ Range: 'bytes=100-199', 'If-Range': validator }).expect(200);
      expect(Buffer.compare(changed.body as Buffer, model)).toBe(0);
      expect(changed.headers['content-range']).toBeUndefined();
      expect(changed.headers['accept-ranges']).toBe('bytes');
    }
  });

  it.each([
    ['several ranges', 'bytes=0-9,20-29'],
    ['a malformed range', 'bytes=abc'],
    ['a range ending before it starts', 'bytes=30-20'],
    ['another unit', 'items=0-9'],
  ])('ignores %s: 200 with the whole file', async (_, range) => {
    const res = await get({ Range: range }).expect(200);
    expect(Buffer.compare(res.body as Buffer, model)).toBe(0);
    expect(res.headers['content-length']).toBe(String(model.length));
    expect(res.headers['accept-ranges']).toBe('bytes');
  });

  it('cuts a part whose stored object is shorter than recorded, after its 206 head', async () => {
    const bytes = randomBytes(300_000);
    const short = (await upload(t, editor, { model: bytes }).expect(201)).body.artifact_id;
    // Lost bytes straight in the object store (files or S3): the part asked for is not all there.
    await t.app
      .get(ObjectStorage)
      .put(`acme-corp/artifacts/${short}/model.pkl`, Readable.from([bytes.subarray(0, 200_000)]));
    const res = await rawGet(t, `${BASE}/artifacts/${short}/files/model.pkl`, {
      Authorization: `Bearer ${viewer}`,
      Range: 'bytes=1000-',
    });
    expect(res.status).toBe(206);
    expect(res.headers['content-length']).toBe('299000');
    expect(res.complete).toBe(false);
    // What came is what is stored there, and less than what there is: the last chunk is held back.
    expect(res.body.length).toBeLessThan(199_000);
    expect(Buffer.compare(res.body, bytes.subarray(1000, 1000 + res.body.length))).toBe(0);
  });

  describe('a large file', () => {
    const large = randomBytes(16 * MiB);
    let largeId: string;
    let largePath: string;
    let largeEtag: string;

    beforeAll(async () => {
      largeId = (await upload(t, editor, { model: large }).expect(201)).body.artifact_id;
      largePath = `${BASE}/artifacts/${largeId}/files/model.pkl`;
      largeEtag = `"sha256-${sha256(large)}"`;
    });

    it('resumes an interrupted download with Range and If-Range: the file reassembles to its SHA-256', async () => {
      const first = await rawGet(t, largePath, { Authorization: `Bearer ${viewer}` }, 2 * MiB);
      expect(first.status).toBe(200);
      expect(first.complete).toBe(false);
      const have = first.body.length;
      expect(have).toBeLessThan(large.length);
      const rest = await rawGet(t, largePath, {
        Authorization: `Bearer ${viewer}`,
        Range: `bytes=${have}-`,
        'If-Range': String(first.headers.etag),
      });
      expect(rest.status).toBe(206);
      expect(rest.complete).toBe(true);
      expect(rest.headers['content-range']).toBe(
        `bytes ${have}-${large.length - 1}/${large.length}`,
      );
      const file = Buffer.concat([first.body, rest.body]);
      expect(sha256(file)).toBe(rest.headers['x-checksum-sha256']);
      expect(sha256(file)).toBe(sha256(large));
      expect(rest.headers.etag).toBe(largeEtag);
    });

    it('Think like a clumsy client: a range abandoned mid-stream leaves the service alive and answering', async () => {
      const start = 3 * MiB + 5;
      const abandoned = await rawGet(
        t,
        largePath,
        { Authorization: `Bearer ${viewer}`, Range: `bytes=${start}-` },
        64 * 1024,
      );
      expect(abandoned.status).toBe(206);
      expect(abandoned.complete).toBe(false);
      expect(
        Buffer.compare(abandoned.body, large.subarray(start, start + abandoned.body.length)),
      ).toBe(0);
      // Again and again, faster than any stream could finish.
      await Promise.all(
        Array.from({ length: 5 }, (_, i) =>
          rawGet(
            t,
            largePath,
            { Authorization: `Bearer ${viewer}`, Range: `bytes=${i * MiB}-` },
            1,
          ),
        ),
      );
      await request(t.http).get('/health/live').expect(200);
      const tail = await download(t, viewer, largeId, 'model.pkl')
        .set('Range', 'bytes=-10')
        .expect(206);
      expect(Buffer.compare(tail.body as Buffer, large.subarray(large.length - 10))).toBe(0);
    });
  });
});
