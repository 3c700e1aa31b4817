import { Client } from 'minio';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { once } from 'node:events';
import * as net from 'node:net';
import { Readable } from 'node:stream';
import { errorOf, expectUnavailable } from '../../../test/support/errors';
import { stack } from '../../../test/support/stack';
import { TcpProxy } from '../../../test/support/tcp-proxy';
import { ErrorCode } from '../../common/errors/error-code';
import { RegistryError } from '../../common/errors/registry-error';
import type { S3Settings } from '../../config/app-config';
import { describeObjectStorageContract } from '../object-storage.contract';
import { S3ObjectStorage, S3StorageOptions } from './s3-object-storage';

jest.setTimeout(60_000);

const MiB = 1024 * 1024;
/** Everything this run writes lives under this prefix of the stack's bucket. */
const runPrefix = `it-storage-${randomUUID().slice(0, 8)}/`;

function settings(overrides: Partial<S3Settings> = {}): S3Settings {
  const s = stack();
  const url = new URL(s.s3Endpoint);
  return {
    bucket: s.s3Bucket,
    prefix: runPrefix,
    endpoint: {
      useSSL: url.protocol === 'https:',
      host: url.hostname,
      port: Number(url.port || (url.protocol === 'https:' ? 443 : 80)),
    },
    region: 'us-east-1',
    accessKey: s.s3AccessKey,
    secretKey: s.s3SecretKey,
    ...overrides,
  };
}

/** A minio client straight to the stack's S3, to look behind the storage's back. */
function rawClient(): Client {
  const s = settings();
  return new Client({
    endPoint: s.endpoint!.host,
    port: s.endpoint!.port,
    useSSL: s.endpoint!.useSSL,
    accessKey: s.accessKey,
    secretKey: s.secretKey,
    region: s.region,
    pathStyle: true,
  });
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

async function listNames(client: Client, bucket: string, prefix: string): Promise<string[]> {
  const names: string[] = [];
  for await (const item of client.listObjectsV2(bucket, prefix, true)) {
    const { name } = item as { name?: string };
    if (name !== undefined) names.push(name);
  }
  return names;
}

async function incompleteUploads(client: Client, bucket: string, prefix: string) {
  const uploads: { key: string; uploadId: string }[] = [];
  for await (const u of client.listIncompleteUploads(bucket, prefix, true)) {
    uploads.push(u as { key: string; uploadId: string });
  }
  return uploads;
}

/** Fails with `err` after `after` bytes. */
function failingSource(after: number, err = new Error('client went away')): Readable {
  let sent = 0;
  return new Readable({
    read() {
      if (sent >= after) {
        this.destroy(err);
        return;
      }
      const chunk = randomBytes(Math.min(MiB, after - sent));
      sent += chunk.length;
      this.push(chunk);
    },
  });
}

describeObjectStorageContract('s3', () => {
  const storage = new S3ObjectStorage(settings());
  return Promise.resolve({
    storage,
    teardown: () => Promise.resolve(storage.onApplicationShutdown()),
  });
});

describe('S3ObjectStorage (real S3)', () => {
  const raw = rawClient();
  const bucket = settings().bucket;
  const made: S3ObjectStorage[] = [];
  const open = (overrides: Partial<S3Settings> = {}, options: S3StorageOptions = {}) => {
    const storage = new S3ObjectStorage(settings(overrides), options);
    made.push(storage);
    return storage;
  };
  let counter = 0;
  const key = (file = 'model.pkl') => `t${++counter}/artifacts/a/${file}`;

  afterAll(async () => {
    for (const s of made) s.onApplicationShutdown();
    // Everything under this run's prefix, whatever test left it.
    const names = await listNames(raw, bucket, runPrefix);
    if (names.length > 0) await raw.removeObjects(bucket, names);
  });

  it('names objects s3://<bucket>/<prefix><key>', () => {
    expect(open().uri('acme/artifacts/a1/model.pkl')).toBe(
      `s3://${bucket}/${runPrefix}acme/artifacts/a1/model.pkl`,
    );
    expect(open({ prefix: '' }).uri('acme/artifacts/a1/model.pkl')).toBe(
      `s3://${bucket}/acme/artifacts/a1/model.pkl`,
    );
  });

  it('stores objects under the configured prefix', async () => {
    const k = key();
    await open().put(k, Readable.from([Buffer.from('under the prefix')]), {
      contentType: 'application/octet-stream',
    });
    const stat = await raw.statObject(bucket, runPrefix + k);
    expect(stat.size).toBe(16);
    expect(stat.metaData['content-type']).toBe('application/octet-stream');
  });

  it('uploads a 26 MiB body in 8 MiB parts and gives back the same bytes', async () => {
    const storage = open();
    const k = key();
    const bytes = randomBytes(26 * MiB);
    // Uneven chunks, as a network delivers them.
    const chunks = [
      bytes.subarray(0, 1000),
      bytes.subarray(1000, 9 * MiB),
      bytes.subarray(9 * MiB),
    ];
    expect(await storage.put(k, Readable.from(chunks))).toEqual({ size: bytes.length });
    const stat = await raw.statObject(bucket, runPrefix + k);
    // A multipart object's ETag ends in -<number of parts>: 8 + 8 + 8 + 2 MiB.
    expect(stat.etag).toMatch(/-4$/);
    const back = await readAll(await storage.get(k));
    expect(createHash('sha256').update(back).digest('hex')).toBe(
      createHash('sha256').update(bytes).digest('hex'),
    );
    expect(await incompleteUploads(raw, bucket, runPrefix)).toEqual([]);
  });

  it('leaves no object and no incomplete multipart upload when the source fails after 20 MiB', async () => {
    const storage = open();
    const k = key();
    await storage.put(k, Readable.from([Buffer.from('previous')]));
    const err = await errorOf(storage.put(k, failingSource(20 * MiB)));
    expect((err as Error).message).toBe('client went away');
    expect((await readAll(await storage.get(k))).toString()).toBe('previous');
    const fresh = key();
    await expect(storage.put(fresh, failingSource(17 * MiB))).rejects.toThrow('client went away');
    expect(await storage.stat(fresh)).toBeNull();
    expect(await incompleteUploads(raw, bucket, runPrefix)).toEqual([]);
  });

  // The stack's S3 through a proxy told to misbehave: stop listening (S3 down), swallow bytes
  // (S3 hangs), or cut every connection whose request matches a pattern.
  describe('through a faulty proxy', () => {
    let proxy: TcpProxy;
    beforeEach(async () => {
      const { endpoint } = settings();
      proxy = await TcpProxy.start({ host: endpoint!.host, port: endpoint!.port });
    });
    afterEach(() => proxy.down());
    const viaProxy = (overrides: Partial<S3Settings> = {}, options: S3StorageOptions = {}) =>
      open(
        { endpoint: { useSSL: false, host: '127.0.0.1', port: proxy.port }, ...overrides },
        options,
      );

    it('aborts the multipart upload when S3 fails half way: nothing at the key, no parts left', async () => {
      const storage = viaProxy();
      const k = key();
      await storage.put(k, Readable.from([Buffer.from('previous')]));
      // Every attempt at part 2 has its connection cut; everything else goes through.
      proxy.cutOn = /[?&]partNumber=2[ &]/;
      const err = await errorOf(storage.put(k, failingSource(30 * MiB)));
      expectUnavailable(err);
      proxy.cutOn = undefined;
      expect((await readAll(await storage.get(k))).toString()).toBe('previous');
      expect(await incompleteUploads(raw, bucket, runPrefix)).toEqual([]);
    });

    it('cuts a download whose S3 connection goes silent, after the idle timeout', async () => {
      const storage = viaProxy({}, { transferIdleTimeoutMs: 1000 });
      const k = key();
      await storage.put(k, Readable.from([randomBytes(24 * MiB)]));
      const stream = await storage.get(k);
      const started = Date.now();
      let received = 0;
      proxy.blackholed = true;
      const err = await errorOf(
        (async () => {
          for await (const chunk of stream) received += (chunk as Buffer).length;
        })(),
      );
      const elapsed = Date.now() - started;
      expect(err).toBeDefined();
      expect(received).toBeLessThan(24 * MiB);
      expect(elapsed).toBeGreaterThanOrEqual(900);
      expect(elapsed).toBeLessThan(5000);
    });

    it('fails an upload whose S3 stops answering, after the idle timeout', async () => {
      // Outside the run's prefix: the abort cannot get through a stalled S3 either, and the
      // parts it leaves must not disturb the other tests' checks.
      const prefix = `${runPrefix.slice(0, -1)}-stall/`;
      const storage = viaProxy({ prefix }, { transferIdleTimeoutMs: 1000, requestTimeoutMs: 1000 });
      await storage.ping();
      // S3 swallows part 2 and everything after it: it reads but never answers.
      proxy.blackholeOn = /[?&]partNumber=2[ &]/;
      const started = Date.now();
      const body = Readable.from(Array.from({ length: 24 }, () => randomBytes(MiB)));
      expectUnavailable(await errorOf(storage.put('a/model.pkl', body)));
      const elapsed = Date.now() - started;
      expect(elapsed).toBeLessThan(8000);
      proxy.blackholeOn = undefined;
      proxy.blackholed = false;
      expect(await storage.stat('a/model.pkl')).toBeNull();
      for (const u of await incompleteUploads(raw, bucket, prefix)) {
        await raw.abortMultipartUpload(bucket, u.key, u.uploadId);
      }
    });

    it('boots with S3 down, reports it, and creates the bucket once S3 is back (no restart)', async () => {
      const fresh = `it-bucket-${randomUUID().slice(0, 8)}`;
      await proxy.down();
      // Constructing makes no call to S3: this is what the service does at boot.
      const storage = viaProxy({ bucket: fresh, prefix: '' }, { requestTimeoutMs: 2000 });
      expectUnavailable(await errorOf(storage.ping()));
      expectUnavailable(await errorOf(storage.put('a/b.txt', Readable.from([Buffer.from('x')]))));
      await proxy.up();
      await expect(storage.ping()).resolves.toBeUndefined();
      expect(await raw.bucketExists(fresh)).toBe(true);
      await storage.put('a/b.txt', Readable.from([Buffer.from('back')]));
      expect((await readAll(await storage.get('a/b.txt'))).toString()).toBe('back');
      await storage.deletePrefix('a/');
      await raw.removeBucket(fresh);
    });
  });

  it('creates a missing bucket on first use', async () => {
    const fresh = `it-bucket-${randomUUID().slice(0, 8)}`;
    expect(await raw.bucketExists(fresh)).toBe(false);
    const storage = open({ bucket: fresh, prefix: 'p/' });
    expect(await storage.stat('a/b.txt')).toBeNull();
    expect(await raw.bucketExists(fresh)).toBe(true);
    await storage.put('a/b.txt', Readable.from([Buffer.from('first use')]));
    expect((await raw.statObject(fresh, 'p/a/b.txt')).size).toBe(9);
    await storage.deletePrefix('a/');
    await raw.removeBucket(fresh);
  });

  it('copies objects above copyPartSize part by part (UploadPartCopy), keeping the content type', async () => {
    const storage = open({}, { copyPartSize: 5 * MiB });
    const from = key();
    const to = key();
    const bytes = randomBytes(12 * MiB + 123);
    await storage.put(from, Readable.from([bytes]), { contentType: 'application/x-pickle' });
    await storage.copy(from, to);
    const stat = await raw.statObject(bucket, runPrefix + to);
    expect(stat.etag).toMatch(/-3$/);
    expect(stat.metaData['content-type']).toBe('application/x-pickle');
    expect(Buffer.compare(await readAll(await storage.get(to)), bytes)).toBe(0);
    expect(await incompleteUploads(raw, bucket, runPrefix)).toEqual([]);
    const err = await errorOf(storage.copy(key(), to));
    expect((err as RegistryError).code).toBe(ErrorCode.ArtifactFileNotFound);
  });

  it('deletes a prefix holding more than one listing page (1000 keys)', async () => {
    const storage = open();
    const prefix = `t${++counter}/artifacts/many/`;
    const names = Array.from({ length: 1100 }, (_, i) => `${runPrefix}${prefix}f${i}`);
    for (let i = 0; i < names.length; i += 50) {
      await Promise.all(names.slice(i, i + 50).map((n) => raw.putObject(bucket, n, 'x')));
    }
    await storage.deletePrefix(prefix);
    expect(await listNames(raw, bucket, runPrefix + prefix)).toEqual([]);
  });

  it('aborts the multipart uploads a killed process left under its prefix, by age, and no other', async () => {
    const storage = open({ prefix: `${runPrefix}sweep/` });
    await storage.ping();
    // What a SIGKILL mid-upload leaves: an upload started, a part stored, never completed.
    const left = `${runPrefix}sweep/acme/churn/v1/model.pkl`;
    const id = await raw.initiateNewMultipartUpload(bucket, left, {});
    await raw.uploadPart(
      { bucketName: bucket, objectName: left, uploadID: id, partNumber: 1, headers: {} },
      randomBytes(5 * MiB),
    );
    const outside = `${runPrefix}outside/acme/churn/v1/model.pkl`;
    const outsideId = await raw.initiateNewMultipartUpload(bucket, outside, {});
    try {
      // Minutes old, not a day: kept.
      expect(await storage.sweepAbandonedWrites(24 * 60 * 60 * 1000)).toBe(0);
      expect((await incompleteUploads(raw, bucket, left)).map((u) => u.uploadId)).toEqual([id]);
      expect(await storage.sweepAbandonedWrites(0)).toBe(1);
      expect(await incompleteUploads(raw, bucket, `${runPrefix}sweep/`)).toEqual([]);
      expect((await incompleteUploads(raw, bucket, outside)).map((u) => u.uploadId)).toEqual([
        outsideId,
      ]);
    } finally {
      await raw.abortMultipartUpload(bucket, outside, outsideId);
    }
  });

  describe('fault behaviour', () => {
    it('answers BACKEND_UNAVAILABLE at once when nothing listens on the port', async () => {
      const server = net.createServer();
      server.listen(0, '127.0.0.1');
      await once(server, 'listening');
      const port = (server.address() as net.AddressInfo).port;
      await new Promise((resolve) => server.close(resolve));
      const storage = open({ endpoint: { useSSL: false, host: '127.0.0.1', port } });
      for (const call of [
        () => storage.ping(),
        () => storage.stat('a/b'),
        () => storage.put('a/b', Readable.from([Buffer.from('x')])),
      ]) {
        const started = Date.now();
        expectUnavailable(await errorOf(call()));
        expect(Date.now() - started).toBeLessThan(1000);
      }
    });

    it('answers BACKEND_UNAVAILABLE within the timeout when S3 accepts and never answers', async () => {
      const sockets: net.Socket[] = [];
      const server = net.createServer((socket) => {
        sockets.push(socket);
        socket.on('error', () => undefined);
        // Read and ignore the requests, so that a client hanging up is seen.
        socket.resume();
      });
      server.listen(0, '127.0.0.1');
      await once(server, 'listening');
      const port = (server.address() as net.AddressInfo).port;
      try {
        const storage = open(
          { endpoint: { useSSL: false, host: '127.0.0.1', port } },
          { requestTimeoutMs: 1000 },
        );
        for (const call of [
          () => storage.ping(),
          () => storage.stat('a/b'),
          () => storage.get('a/b'),
        ]) {
          const started = Date.now();
          expectUnavailable(await errorOf(call()));
          const elapsed = Date.now() - started;
          expect(elapsed).toBeGreaterThanOrEqual(900);
          expect(elapsed).toBeLessThan(3000);
        }
        // The storage gave up on the connections it opened.
        await new Promise((resolve) => setTimeout(resolve, 200));
        expect(sockets.length).toBeGreaterThan(0);
        expect(sockets.filter((s) => !s.readableEnded).length).toBe(0);
      } finally {
        for (const s of sockets) s.destroy();
        await new Promise((resolve) => server.close(resolve));
      }
    });
  });
});
