import { Logger } from '@nestjs/common';
import { once } from 'node:events';
import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { errorOf, expectUnavailable } from '../../../test/support/errors';
import { ErrorCode } from '../../common/errors/error-code';
import { RegistryError } from '../../common/errors/registry-error';
import { S3ObjectStorage } from './s3-object-storage';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

/** A scripted stand-in for S3: answers with `handler`, records requests and connections. */
class FakeS3 {
  handler: Handler = (_req, res) => res.writeHead(200).end();
  readonly requests: string[] = [];
  connections = 0;
  private server?: Server;

  async start(): Promise<number> {
    this.server = createServer((req, res) => {
      this.requests.push(`${req.method} ${req.url}`);
      req.resume();
      req.on('end', () => this.handler(req, res));
    });
    this.server.on('connection', () => this.connections++);
    this.server.listen(0, '127.0.0.1');
    await once(this.server, 'listening');
    return (this.server.address() as AddressInfo).port;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise((resolve) => this.server?.close(resolve));
  }
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

function xmlError(res: ServerResponse, status: number, code: string): void {
  res
    .writeHead(status, { 'Content-Type': 'application/xml' })
    .end(
      `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>m</Message></Error>`,
    );
}

describe('S3ObjectStorage against a scripted server', () => {
  let fake: FakeS3;
  let fakePort: number;
  let storage: S3ObjectStorage;

  beforeEach(async () => {
    fake = new FakeS3();
    const port = await fake.start();
    fakePort = port;
    storage = new S3ObjectStorage(
      {
        bucket: 'bucket',
        prefix: 'p/',
        endpoint: { useSSL: false, host: '127.0.0.1', port },
        region: 'us-east-1',
        accessKey: 'key',
        secretKey: 'secret',
      },
      { requestTimeoutMs: 1000 },
    );
    jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
  });

  afterEach(async () => {
    storage.onApplicationShutdown();
    await fake.stop();
    jest.restoreAllMocks();
  });

  it('calls S3 only when used, and checks the bucket once', async () => {
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(fake.requests).toEqual([]);
    fake.handler = (req, res) => {
      if (req.url === '/bucket') res.writeHead(200).end();
      else res.writeHead(200, { 'Content-Length': '5', ETag: '"e"' }).end();
    };
    expect(await storage.stat('a/b.txt')).toEqual({ size: 5 });
    expect(await storage.stat('a/b.txt')).toEqual({ size: 5 });
    expect(fake.requests).toEqual([
      'HEAD /bucket',
      'HEAD /bucket/p/a/b.txt',
      'HEAD /bucket/p/a/b.txt',
    ]);
  });

  it('copies a source of known size with one CopyObject, without looking it up first', async () => {
    fake.handler = (req, res) => {
      if (req.method === 'PUT' && req.headers['x-amz-copy-source'] !== undefined) {
        res
          .writeHead(200, { 'Content-Type': 'application/xml' })
          .end(
            '<?xml version="1.0" encoding="UTF-8"?><CopyObjectResult>' +
              '<LastModified>2026-11-27T00:00:00.000Z</LastModified><ETag>"e"</ETag></CopyObjectResult>',
          );
      } else {
        res.writeHead(200, { 'Content-Length': '5', ETag: '"e"' }).end();
      }
    };
    await storage.copy('a/from.pkl', 'a/to.pkl', 5);
    expect(fake.requests).toEqual(['HEAD /bucket', 'PUT /bucket/p/a/to.pkl']);
    fake.requests.length = 0;
    await storage.copy('a/from.pkl', 'a/to.pkl');
    expect(fake.requests).toEqual(['HEAD /bucket/p/a/from.pkl', 'PUT /bucket/p/a/to.pkl']);
  });

  it('checks the bucket again after a failed check', async () => {
    let failures = 1;
    fake.handler = (req, res) => {
      if (req.url === '/bucket' && failures-- > 0) xmlError(res, 503, 'SlowDown');
      else if (req.url === '/bucket') res.writeHead(200).end();
      else res.writeHead(404).end();
    };
    expectUnavailable(await errorOf(storage.stat('a/b.txt')));
    expect(await storage.stat('a/b.txt')).toBeNull();
    expect(fake.requests.filter((r) => r === 'HEAD /bucket')).toHaveLength(2);
  });

  it('creates the bucket when it is missing', async () => {
    let created = false;
    fake.handler = (req, res) => {
      if (req.method === 'HEAD' && req.url === '/bucket') res.writeHead(created ? 200 : 404).end();
      else if (req.method === 'PUT' && req.url === '/bucket') {
        created = true;
        res.writeHead(200).end();
      } else res.writeHead(500).end();
    };
    await storage.ping();
    expect(fake.requests).toEqual(['HEAD /bucket', 'PUT /bucket']);
  });

  it.each([
    ['503 SlowDown', (res: ServerResponse) => xmlError(res, 503, 'SlowDown')],
    ['500 InternalError', (res: ServerResponse) => xmlError(res, 500, 'InternalError')],
    ['502 from a proxy, no body', (res: ServerResponse) => res.writeHead(502).end()],
    ['504 with an HTML page', (res: ServerResponse) => res.writeHead(504).end('<html>gw</html>')],
  ])('answers BACKEND_UNAVAILABLE for %s, and keeps the connection usable', async (_, answer) => {
    fake.handler = (req, res) =>
      // (Without a length, Node's server closes the connection after answering a HEAD.)
      req.url === '/bucket' ? res.writeHead(200, { 'Content-Length': '0' }).end() : answer(res);
    await storage.ping();
    await new Promise((resolve) => setTimeout(resolve, 20));
    fake.connections = 0;
    for (let i = 0; i < 3; i++) {
      expectUnavailable(await errorOf(storage.get('a/b.txt')));
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    // The error answers were read to their end: the ping's connection served them all (left
    // unread, each would hold its connection until the timeout and the next open a new one).
    expect(fake.requests).toHaveLength(4);
    expect(fake.connections).toBe(0);
  });

  it('answers BACKEND_UNAVAILABLE for refused credentials and logs it as an error', async () => {
    fake.handler = (req, res) =>
      req.method === 'HEAD'
        ? res.writeHead(403).end()
        : xmlError(res, 403, 'SignatureDoesNotMatch');
    expectUnavailable(await errorOf(storage.ping()));
    expect(Logger.prototype.error).toHaveBeenCalledWith(
      expect.objectContaining({ err: expect.stringContaining('AccessDenied') }),
      expect.stringContaining('AWS_ACCESS_KEY_ID'),
    );
  });

  it('answers BACKEND_UNAVAILABLE, logged as an error, when TLS is spoken to a plain-HTTP port', async () => {
    const tls = new S3ObjectStorage(
      {
        bucket: 'bucket',
        prefix: '',
        endpoint: { useSSL: true, host: '127.0.0.1', port: fakePort },
        region: 'us-east-1',
        accessKey: 'key',
        secretKey: 'secret',
      },
      { requestTimeoutMs: 1000 },
    );
    try {
      expectUnavailable(await errorOf(tls.ping()));
      expect(Logger.prototype.error).toHaveBeenCalled();
    } finally {
      tls.onApplicationShutdown();
    }
  });

  it('answers BACKEND_UNAVAILABLE when the endpoint is not an S3 store at all', async () => {
    fake.handler = (_req, res) =>
      res.writeHead(404, { 'Content-Type': 'text/html' }).end('<html/>');
    expectUnavailable(await errorOf(storage.ping()));
    expectUnavailable(await errorOf(storage.put('a/b', Readable.from([Buffer.from('x')]))));
  });

  it('answers ARTIFACT_FILE_NOT_FOUND for NoSuchKey, and lets unexpected S3 errors through', async () => {
    fake.handler = (req, res) => {
      if (req.url === '/bucket') res.writeHead(200).end();
      else if (req.url === '/bucket/p/missing') xmlError(res, 404, 'NoSuchKey');
      else xmlError(res, 400, 'InvalidArgument');
    };
    const missing = await errorOf(storage.get('missing'));
    expect((missing as RegistryError).code).toBe(ErrorCode.ArtifactFileNotFound);
    const odd = await errorOf(storage.get('odd'));
    expect(odd).not.toBeInstanceOf(RegistryError);
    expect((odd as { code?: string }).code).toBe('InvalidArgument');
  });

  it('reads a range with one ranged GET (bytes=start-end) and passes the part on', async () => {
    const ranges: (string | undefined)[] = [];
    fake.handler = (req, res) => {
      if (req.url === '/bucket') return void res.writeHead(200).end();
      ranges.push(req.headers.range);
      res
        .writeHead(206, { 'Content-Length': '5', 'Content-Range': 'bytes 5-9/100', ETag: '"e"' })
        .end('56789');
    };
    expect((await readAll(await storage.get('a/b.pkl', { start: 5, end: 9 }))).toString()).toBe(
      '56789',
    );
    await readAll(await storage.get('a/b.pkl', { start: 0, end: 4 }));
    expect(ranges).toEqual(['bytes=5-9', 'bytes=0-4']);
    expect(fake.requests.slice(1)).toEqual(['GET /bucket/p/a/b.pkl', 'GET /bucket/p/a/b.pkl']);
  });

  it("gives an empty stream for S3's 416 InvalidRange (a range past the end)", async () => {
    fake.handler = (req, res) =>
      req.url === '/bucket' ? res.writeHead(200).end() : xmlError(res, 416, 'InvalidRange');
    expect((await readAll(await storage.get('a/b.pkl', { start: 100, end: 200 }))).length).toBe(0);
  });

  it('refuses the answer of a store that ignored the range (200 with the whole object)', async () => {
    fake.handler = (req, res) =>
      req.url === '/bucket'
        ? res.writeHead(200).end()
        : res.writeHead(200, { 'Content-Length': '10', ETag: '"e"' }).end('0123456789');
    const err = await errorOf(storage.get('a/b.pkl', { start: 5, end: 9 }));
    expect(err).not.toBeInstanceOf(RegistryError);
    expect((err as Error).message).toMatch(/ranged read .* with 200, not 206/);
  });

  it('gives up on a download whose answer never comes, within requestTimeoutMs', async () => {
    fake.handler = (req, res) => {
      if (req.url === '/bucket') res.writeHead(200).end();
      // else: never answer
    };
    await storage.ping();
    const started = Date.now();
    expectUnavailable(await errorOf(storage.get('a/b.txt')));
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    expect(Date.now() - started).toBeLessThan(3000);
  });

  describe('sweeping incomplete multipart uploads (left by a process killed mid-upload)', () => {
    const day = 24 * 60 * 60 * 1000;
    const upload = (key: string, id: string, ageMs: number) =>
      `<Upload><Key>${key}</Key><UploadId>${id}</UploadId>` +
      `<Initiated>${new Date(Date.now() - ageMs).toISOString()}</Initiated></Upload>`;
    const listing = (uploads: string[], next?: string) =>
      '<?xml version="1.0" encoding="UTF-8"?><ListMultipartUploadsResult>' +
      `<Bucket>bucket</Bucket><IsTruncated>${next !== undefined}</IsTruncated>` +
      (next !== undefined ? `<NextKeyMarker>${next}</NextKeyMarker>` : '') +
      `${uploads.join('')}</ListMultipartUploadsResult>`;
    const xml = (res: ServerResponse, body: string) =>
      res.writeHead(200, { 'Content-Type': 'application/xml' }).end(body);
    const aborts = () => fake.requests.filter((r) => r.startsWith('DELETE '));

    it('aborts those under its prefix started longer ago than the age, page by page', async () => {
      fake.handler = (req, res) => {
        const url = new URL(req.url ?? '/', 'http://s3');
        if (req.method === 'HEAD') res.writeHead(200).end();
        else if (req.method === 'GET' && url.searchParams.has('uploads')) {
          expect(url.searchParams.get('prefix')).toBe('p/');
          if (!url.searchParams.get('key-marker')) {
            xml(
              res,
              listing(
                [
                  upload('p/t/m/v1/model.pkl', 'old1', 2 * day),
                  upload('p/t/a/model.pkl', 'young', 1000),
                ],
                'p/t/m/v1/model.pkl',
              ),
            );
          } else {
            expect(url.searchParams.get('key-marker')).toBe('p/t/m/v1/model.pkl');
            xml(
              res,
              listing([
                upload('p/t/m/v2/model.pkl', 'old2', 2 * day),
                upload('p/t/m/v3/x', 'gone', 2 * day),
              ]),
            );
          }
        } else if (req.method === 'DELETE' && url.searchParams.get('uploadId') === 'gone') {
          xmlError(res, 404, 'NoSuchUpload');
        } else if (req.method === 'DELETE') res.writeHead(204).end();
        else res.writeHead(500).end();
      };
      expect(await storage.sweepAbandonedWrites(day)).toBe(2);
      expect(aborts()).toEqual([
        'DELETE /bucket/p/t/m/v1/model.pkl?uploadId=old1',
        'DELETE /bucket/p/t/m/v2/model.pkl?uploadId=old2',
        'DELETE /bucket/p/t/m/v3/x?uploadId=gone',
      ]);
      fake.requests.length = 0;
      // Age 0: every one, the young included.
      expect(await storage.sweepAbandonedWrites(0)).toBe(3);
      expect(aborts()).toContain('DELETE /bucket/p/t/a/model.pkl?uploadId=young');
    });

    it('never aborts the upload of an object it is writing, even with age 0', async () => {
      const copier = new S3ObjectStorage(
        {
          bucket: 'bucket',
          prefix: 'p/',
          endpoint: { useSSL: false, host: '127.0.0.1', port: fakePort },
          region: 'us-east-1',
          accessKey: 'key',
          secretKey: 'secret',
        },
        { requestTimeoutMs: 5000, copyTimeoutMs: 5000, copyPartSize: 5 },
      );
      let initiate: ServerResponse | undefined;
      fake.handler = (req, res) => {
        const url = new URL(req.url ?? '/', 'http://s3');
        if (req.method === 'HEAD' && url.pathname === '/bucket') res.writeHead(200).end();
        else if (req.method === 'HEAD') {
          res
            .writeHead(200, {
              'Content-Length': '10',
              ETag: '"e"',
              'Last-Modified': new Date().toUTCString(),
            })
            .end();
        } else if (req.method === 'POST' && url.searchParams.has('uploads')) {
          initiate = res; // held: S3 has made the upload, the copy has not heard back yet
        } else if (req.method === 'GET' && url.searchParams.has('uploads')) {
          xml(res, listing([upload('p/a/to.pkl', 'live', 2 * day)]));
        } else if (req.method === 'DELETE') res.writeHead(204).end();
        else res.writeHead(500).end();
      };
      try {
        const copying = errorOf(copier.copy('a/from.pkl', 'a/to.pkl'));
        while (initiate === undefined) await new Promise((r) => setTimeout(r, 5));
        expect(await copier.sweepAbandonedWrites(0)).toBe(0);
        expect(aborts()).toEqual([]);
        xmlError(initiate, 500, 'InternalError');
        expectUnavailable(await copying);
        // The copy is over: its upload is now as abandoned as any.
        expect(await copier.sweepAbandonedWrites(0)).toBe(1);
        expect(aborts()).toEqual(['DELETE /bucket/p/a/to.pkl?uploadId=live']);
      } finally {
        copier.onApplicationShutdown();
      }
    });
  });
});
