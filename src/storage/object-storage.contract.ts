import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { PassThrough, Readable } from 'node:stream';
import { ErrorCode } from '../common/errors/error-code';
import { RegistryError } from '../common/errors/registry-error';
import { ObjectStorage } from './object-storage';

export interface StorageUnderTest {
  storage: ObjectStorage;
  teardown(): Promise<void>;
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** A stream of `total` pseudo-random bytes made on the fly, and their SHA-256 when it ends. */
function generated(total: number, chunk = 1 << 20): { stream: Readable; digest: () => string } {
  const hash = createHash('sha256');
  let sent = 0;
  const stream = new Readable({
    read() {
      if (sent >= total) {
        this.push(null);
        return;
      }
      const part = randomBytes(Math.min(chunk, total - sent));
      sent += part.length;
      hash.update(part);
      this.push(part);
    },
  });
  return { stream, digest: () => hash.digest('hex') };
}

/** Fails after `after` bytes, like a client that disconnects half way through an upload. */
function failing(after: number): Readable {
  let sent = false;
  return new Readable({
    read() {
      if (!sent) {
        sent = true;
        this.push(randomBytes(after));
        return;
      }
      this.destroy(new Error('client went away'));
    },
  });
}

/** The behaviour every implementation of the storage port must show. */
export function describeObjectStorageContract(
  implementation: string,
  setup: () => Promise<StorageUnderTest>,
): void {
  describe(`ObjectStorage contract: ${implementation}`, () => {
    let subject: StorageUnderTest;
    let storage: ObjectStorage;
    const root = `contract-${randomUUID().slice(0, 8)}`;
    let counter = 0;
    const key = (file = 'model.pkl') => `${root}/artifacts/a${++counter}/${file}`;

    beforeAll(async () => {
      subject = await setup();
      storage = subject.storage;
    });

    afterAll(async () => {
      await storage.deletePrefix(`${root}/`);
      await subject.teardown();
    });

    it('stores bytes and gives them back unchanged, with their size', async () => {
      const k = key();
      const bytes = randomBytes(100_000);
      expect(await storage.put(k, Readable.from([bytes]))).toEqual({ size: bytes.length });
      expect(Buffer.compare(await readAll(await storage.get(k)), bytes)).toBe(0);
      expect(await storage.stat(k)).toEqual({ size: bytes.length });
    });

    it('streams an object larger than memory buffers would like (24 MiB)', async () => {
      const k = key();
      const source = generated(24 * 1024 * 1024);
      await storage.put(k, source.stream);
      const back = createHash('sha256');
      let size = 0;
      for await (const chunk of await storage.get(k)) {
        back.update(chunk as Buffer);
        size += (chunk as Buffer).length;
      }
      expect(size).toBe(24 * 1024 * 1024);
      expect(back.digest('hex')).toBe(source.digest());
    });

    it('stores an empty object', async () => {
      const k = key('requirements.txt');
      await storage.put(k, Readable.from([Buffer.alloc(0)]));
      expect(await storage.stat(k)).toEqual({ size: 0 });
    });

    it('overwrites an existing object', async () => {
      const k = key();
      await storage.put(k, Readable.from([Buffer.from('first')]));
      await storage.put(k, Readable.from([Buffer.from('second!')]));
      expect((await readAll(await storage.get(k))).toString()).toBe('second!');
    });

    it('leaves nothing at the key when the source fails half way', async () => {
      const k = key();
      await expect(storage.put(k, failing(64 * 1024))).rejects.toThrow();
      expect(await storage.stat(k)).toBeNull();
    });

    it('keeps the previous object when an overwrite fails half way', async () => {
      const k = key();
      await storage.put(k, Readable.from([Buffer.from('good')]));
      await expect(storage.put(k, failing(1024))).rejects.toThrow();
      expect((await readAll(await storage.get(k))).toString()).toBe('good');
    });

    it('answers ARTIFACT_FILE_NOT_FOUND and a null stat for a missing object', async () => {
      const k = key();
      const err: unknown = await storage.get(k).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(RegistryError);
      expect((err as RegistryError).code).toBe(ErrorCode.ArtifactFileNotFound);
      expect(await storage.stat(k)).toBeNull();
    });

    describe('ranged reads', () => {
      const bytes = randomBytes(300_000);
      let k: string;

      beforeAll(async () => {
        k = key();
        await storage.put(k, Readable.from([bytes]));
      });

      it.each([
        ['at the start', 0, 99],
        ['in the middle', 100_000, 199_999],
        ['at the end', 299_000, 299_999],
        ['of one byte', 150_000, 150_000],
        ['of the first byte', 0, 0],
        ['of the last byte', 299_999, 299_999],
        ['of the whole object', 0, 299_999],
      ])('reads a range %s: exactly its bytes', async (_, start, end) => {
        const back = await readAll(await storage.get(k, { start, end }));
        expect(back.length).toBe(end - start + 1);
        expect(Buffer.compare(back, bytes.subarray(start, end + 1))).toBe(0);
      });

      it('reads a range across the parts a large object was stored in', async () => {
        const large = key();
        const big = randomBytes(20 * 1024 * 1024);
        await storage.put(large, Readable.from([big]));
        const start = 8 * 1024 * 1024 - 1000;
        const end = 16 * 1024 * 1024 + 999;
        const back = await readAll(await storage.get(large, { start, end }));
        expect(back.length).toBe(end - start + 1);
        expect(Buffer.compare(back, big.subarray(start, end + 1))).toBe(0);
      });

      it('gives what exists of a range past the end, and nothing for one starting past it', async () => {
        const tail = await readAll(await storage.get(k, { start: 299_990, end: 400_000 }));
        expect(Buffer.compare(tail, bytes.subarray(299_990))).toBe(0);
        expect((await readAll(await storage.get(k, { start: 300_000, end: 300_010 }))).length).toBe(
          0,
        );
        const empty = key('requirements.txt');
        await storage.put(empty, Readable.from([Buffer.alloc(0)]));
        expect((await readAll(await storage.get(empty, { start: 0, end: 0 }))).length).toBe(0);
      });

      it('answers ARTIFACT_FILE_NOT_FOUND for a ranged read of a missing object', async () => {
        const err: unknown = await storage.get(key(), { start: 0, end: 9 }).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(err).toBeInstanceOf(RegistryError);
        expect((err as RegistryError).code).toBe(ErrorCode.ArtifactFileNotFound);
      });

      it('refuses a range that is not one', async () => {
        for (const range of [
          { start: -1, end: 5 },
          { start: 6, end: 5 },
          { start: 0.5, end: 5 },
          { start: 0, end: Number.POSITIVE_INFINITY },
        ]) {
          await expect(storage.get(k, range)).rejects.toThrow(/invalid byte range/);
        }
      });
    });

    it('copies an object inside the store: same bytes, the source kept', async () => {
      const from = key();
      const to = key();
      const bytes = randomBytes(300_000);
      await storage.put(from, Readable.from([bytes]));
      await expect(storage.copy(from, to)).resolves.toBeUndefined();
      expect(Buffer.compare(await readAll(await storage.get(to)), bytes)).toBe(0);
      expect(await storage.stat(to)).toEqual({ size: bytes.length });
      expect(await storage.stat(from)).toEqual({ size: bytes.length });
    });

    it('copies with the size known up front: same bytes; a missing source is still not found', async () => {
      const from = key();
      const to = key();
      const bytes = randomBytes(70_000);
      await storage.put(from, Readable.from([bytes]));
      await storage.copy(from, to, bytes.length);
      expect(Buffer.compare(await readAll(await storage.get(to)), bytes)).toBe(0);
      const missing = key();
      const fresh = key();
      const err: unknown = await storage.copy(missing, fresh, 10).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect((err as RegistryError).code).toBe(ErrorCode.ArtifactFileNotFound);
      expect(await storage.stat(fresh)).toBeNull();
    });

    it('copies an empty object', async () => {
      const from = key('requirements.txt');
      const to = key('requirements.txt');
      await storage.put(from, Readable.from([Buffer.alloc(0)]));
      await storage.copy(from, to);
      expect(await storage.stat(to)).toEqual({ size: 0 });
    });

    it('copy overwrites an existing destination', async () => {
      const from = key();
      const to = key();
      await storage.put(from, Readable.from([Buffer.from('new bytes')]));
      await storage.put(to, Readable.from([Buffer.from('old')]));
      await storage.copy(from, to);
      expect((await readAll(await storage.get(to))).toString()).toBe('new bytes');
    });

    it('copy of a missing source answers ARTIFACT_FILE_NOT_FOUND and leaves the destination alone', async () => {
      const to = key();
      await storage.put(to, Readable.from([Buffer.from('kept')]));
      const missing = key();
      const err: unknown = await storage.copy(missing, to).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(RegistryError);
      expect((err as RegistryError).code).toBe(ErrorCode.ArtifactFileNotFound);
      expect((await readAll(await storage.get(to))).toString()).toBe('kept');
      expect(await storage.stat(missing)).toBeNull();
      const fresh = key();
      await expect(storage.copy(missing, fresh)).rejects.toBeInstanceOf(RegistryError);
      expect(await storage.stat(fresh)).toBeNull();
    });

    it('copies an object onto itself without harm; a missing one is not found', async () => {
      const k = key();
      await storage.put(k, Readable.from([Buffer.from('same')]));
      await storage.copy(k, k);
      await storage.copy(k, k, 4);
      expect((await readAll(await storage.get(k))).toString()).toBe('same');
      const missing = key();
      for (const size of [undefined, 4]) {
        const err: unknown = await storage.copy(missing, missing, size).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect((err as RegistryError).code).toBe(ErrorCode.ArtifactFileNotFound);
      }
    });

    it('deletes everything under a prefix and nothing else; twice is fine', async () => {
      const doomed = `${root}/artifacts/doomed/`;
      const kept = `${root}/artifacts/doomed-not/model.pkl`;
      await storage.put(`${doomed}model.pkl`, Readable.from([Buffer.from('a')]));
      await storage.put(`${doomed}config.json`, Readable.from([Buffer.from('{}')]));
      await storage.put(kept, Readable.from([Buffer.from('b')]));
      await storage.deletePrefix(doomed);
      await storage.deletePrefix(doomed);
      expect(await storage.stat(`${doomed}model.pkl`)).toBeNull();
      expect(await storage.stat(`${doomed}config.json`)).toBeNull();
      expect(await storage.stat(kept)).toEqual({ size: 1 });
    });

    it('deletes the objects named and nothing else; missing keys and twice are fine', async () => {
      const folder = `${root}/artifacts/named/`;
      const kept = `${root}/artifacts/named/keep.json`;
      const neighbour = `${root}/artifacts/named-not/model.pkl`;
      await storage.put(`${folder}model.pkl`, Readable.from([Buffer.from('a')]));
      await storage.put(`${folder}metrics.json`, Readable.from([Buffer.from('{}')]));
      await storage.put(kept, Readable.from([Buffer.from('k')]));
      await storage.put(neighbour, Readable.from([Buffer.from('b')]));
      const doomed = [`${folder}model.pkl`, `${folder}metrics.json`, `${folder}absent.json`];
      await storage.deleteObjects(doomed);
      await storage.deleteObjects(doomed);
      await storage.deleteObjects([]);
      expect(await storage.stat(`${folder}model.pkl`)).toBeNull();
      expect(await storage.stat(`${folder}metrics.json`)).toBeNull();
      expect(await storage.stat(kept)).toEqual({ size: 1 });
      expect(await storage.stat(neighbour)).toEqual({ size: 1 });
      // The last object of a folder can go the same way (the folder with it, where there is one).
      await storage.deleteObjects([kept]);
      expect(await storage.stat(kept)).toBeNull();
      await storage.put(kept, Readable.from([Buffer.from('again')]));
      expect(await storage.stat(kept)).toEqual({ size: 5 });
    });

    it('a sweep of abandoned writes, however young, keeps every object and spares a write in progress', async () => {
      const stored = key();
      await storage.put(stored, Readable.from([Buffer.from('kept')]));
      await storage.copy(stored, key('metrics.json'), 4);
      // More than one S3 part before the pause, so the write in progress is a multipart upload.
      const first = randomBytes(9 * 1024 * 1024);
      const rest = randomBytes(1024);
      const body = new PassThrough();
      const k = key();
      const writing = storage.put(k, body);
      body.write(first);
      await new Promise((r) => setTimeout(r, 500));
      await storage.sweepAbandonedWrites(0);
      body.end(rest);
      expect(await writing).toEqual({ size: first.length + rest.length });
      expect((await readAll(await storage.get(k))).equals(Buffer.concat([first, rest]))).toBe(true);
      expect((await readAll(await storage.get(stored))).toString()).toBe('kept');
    });

    it('names each object with a URI that ends with its key', () => {
      const k = key();
      expect(storage.uri(k).endsWith(k)).toBe(true);
      expect(storage.uri(k)).toMatch(/^[a-z0-9]+:\/\//);
    });

    it('refuses keys that could escape their prefix', async () => {
      await expect(storage.put('../etc/passwd', Readable.from([Buffer.from('x')]))).rejects.toThrow(
        /unsafe/,
      );
      await expect(storage.get(`${root}/../../x`)).rejects.toThrow(/unsafe/);
      await expect(storage.deletePrefix('/')).rejects.toThrow(/unsafe/);
      await expect(storage.deleteObjects([key(), `${root}/../x`])).rejects.toThrow(/unsafe/);
      await expect(storage.copy(key(), `${root}/../x`)).rejects.toThrow(/unsafe/);
      await expect(storage.copy('../x', key())).rejects.toThrow(/unsafe/);
    });

    it('answers ping', async () => {
      await expect(storage.ping()).resolves.toBeUndefined();
    });
  });
}
