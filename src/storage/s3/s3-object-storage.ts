import { Logger, OnApplicationShutdown } from '@nestjs/common';
import { Client, CopyDestinationOptions, CopySourceOptions, S3Error } from 'minio';
import { createHash } from 'node:crypto';
import type { Agent as HttpAgent, IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';
import { RegistryError } from '../../common/errors/registry-error';
import type { S3Settings } from '../../config/app-config';
import { assertByteRange, assertSafeKey, ByteRange, ObjectStorage } from '../object-storage';
import {
  describeCause,
  fileNotFound,
  isMissing,
  isResetConnection,
  s3Code,
  translate,
} from './s3-errors';
import { abortIncompleteUploads } from './s3-multipart-sweep';
import { connectS3 } from './s3-transport';

const MiB = 1024 * 1024;

export interface S3StorageOptions {
  /**
   * Longest silence while waiting for the store: connecting, and the answer to any call that is
   * not a transfer (stat, list, delete, bucket checks, starting a download). Default 10 s.
   */
  requestTimeoutMs?: number;
  /**
   * Longest silence on a connection that carries bytes: while an upload part is sent and
   * answered, and while a download is read (a reader that stops reading for this long counts
   * too). Not a limit on the total time: a 10 GiB transfer may take as long as it needs.
   * Default 60 s.
   */
  transferIdleTimeoutMs?: number;
  /**
   * Longest wait for calls where the store works without sending anything: server-side copies
   * (CopyObject, UploadPartCopy) and CompleteMultipartUpload. Default 120 s.
   */
  copyTimeoutMs?: number;
  /** Upload part size: the memory an upload holds (twice: one part sent, one being read). 8 MiB. */
  partSize?: number;
  /**
   * Objects up to this size are copied with one CopyObject; larger ones part by part with
   * UploadPartCopy, `copyPartSize` bytes each (S3 allows CopyObject up to 5 GiB). 256 MiB.
   */
  copyPartSize?: number;
  /** UploadPartCopy calls in flight for one large copy. Default 4. */
  copyConcurrency?: number;
}

/** Runs `tasks` with at most `limit` at a time; on a failure starts no more, lets the running ones end, throws the first error. */
async function runLimited<T>(tasks: (() => Promise<T>)[], limit: number): Promise<T[]> {
  const results: T[] = [];
  let next = 0;
  let failure: { err: unknown } | undefined;
  const worker = async (): Promise<void> => {
    while (failure === undefined && next < tasks.length) {
      const index = next++;
      try {
        results[index] = await tasks[index]();
      } catch (err) {
        failure ??= { err };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, tasks.length) }, worker));
  if (failure !== undefined) throw failure.err;
  return results;
}

/**
 * Objects in an S3-compatible store (AWS S3, MinIO, SeaweedFS, ...) through minio-js, with
 * path-style addressing, under `settings.prefix` in `settings.bucket`.
 *
 * - **Uploads** stream as multipart uploads of `partSize` (8 MiB) parts: at most one part is
 *   being sent while the next one is read, into two part buffers reused for the whole upload,
 *   so an upload holds about 16 MiB whatever its size.
 *   A body that fits in one part is sent with one PutObject. A multipart upload becomes visible
 *   only when completed; if the source or the store fails on the way it is aborted (after the
 *   part in flight settled), so nothing is left at the key and no parts are left behind. (minio's
 *   own putObject is not used: on a source error it neither aborts nor settles, and it resumes
 *   another writer's incomplete upload of the same key.)
 * - **Copies** are server-side: CopyObject up to `copyPartSize`, UploadPartCopy parts of
 *   `copyPartSize` beyond (CopyObject stops at 5 GiB; artifacts may be 10 GiB), pinned to the
 *   source's ETag, completed or aborted like uploads. (minio's composeObject is not used: it
 *   numbers every range of one source as the same part and reports an aborted copy as success.)
 * - **Ranged reads** are one ranged GET (`Range: bytes=start-end`); S3's 416 for a range past
 *   the end is the port's empty stream, and a store that answers a range with the whole object
 *   (200) is refused rather than its first bytes passed off as the range.
 * - **The bucket** is created when missing, lazily: on first use and in `ping`; a failure is
 *   not remembered, so the service boots with the store down, reports not-ready, and recovers
 *   when it comes back. Nothing here calls the store before the first request.
 * - **Time limits**: see `S3StorageOptions` and `s3-transport.ts`; a refused connection fails
 *   at once (minio's own retries are off: they would wait and resend, and leak the connection).
 * - **Errors** (`s3-errors.ts`): a missing object is ARTIFACT_FILE_NOT_FOUND; a store that
 *   cannot be reached, is too slow, answers 5xx/SlowDown or refuses our credentials is
 *   BACKEND_UNAVAILABLE (503 with Retry-After), the cause logged (credential and endpoint
 *   problems as errors). Other S3 errors are bugs and propagate as they are.
 */
export class S3ObjectStorage extends ObjectStorage implements OnApplicationShutdown {
  private readonly logger = new Logger(S3ObjectStorage.name);
  private readonly client: Client;
  private readonly agent: HttpAgent;
  private readonly bucket: string;
  private readonly prefix: string;
  private readonly partSize: number;
  private readonly copyPartSize: number;
  private readonly copyConcurrency: number;
  private bucketReady = false;
  private bucketPending?: Promise<void>;
  /** Object names this instance is writing (multipart or not), with how many writes each. */
  private readonly writing = new Map<string, number>();

  constructor(
    private readonly settings: S3Settings,
    options: S3StorageOptions = {},
  ) {
    super();
    this.bucket = settings.bucket;
    this.prefix = settings.prefix;
    this.partSize = options.partSize ?? 8 * MiB;
    this.copyPartSize = Math.min(options.copyPartSize ?? 256 * MiB, 5 * 1024 * MiB);
    this.copyConcurrency = options.copyConcurrency ?? 4;
    ({ client: this.client, agent: this.agent } = connectS3(settings, this.partSize, {
      requestMs: options.requestTimeoutMs ?? 10_000,
      transferMs: options.transferIdleTimeoutMs ?? 60_000,
      copyMs: options.copyTimeoutMs ?? 120_000,
    }));
  }

  async put(
    key: string,
    body: Readable,
    options: { contentType?: string } = {},
  ): Promise<{ size: number }> {
    assertSafeKey(key);
    const name = this.objectName(key);
    const headers: Record<string, string> = {};
    if (options.contentType !== undefined) headers['Content-Type'] = options.contentType;
    try {
      await this.ensureBucket();
    } catch (err) {
      body.destroy();
      throw err;
    }
    // The source may have been abandoned while the bucket was being checked.
    if (body.destroyed) throw body.errored ?? new Error('source stream was destroyed');

    // Two part buffers, reused for the whole upload: the one being filled and the one in flight.
    // Incoming chunks are copied into the first; no buffer is allocated per part, so memory is
    // two parts whatever the size (a fresh buffer per part is freed only when V8 collects its
    // handle, and with few JavaScript allocations that can be many parts later).
    let fill: Buffer | undefined;
    let filled = 0;
    let spare: Buffer | undefined;
    let size = 0;
    let uploadId: string | undefined;
    let nextPart = 1;
    const parts: { part: number; etag: string }[] = [];
    let inFlight: Promise<void> | undefined;
    let inFlightBuffer: Buffer | undefined;
    const send = (id: string, part: number, bytes: Buffer): Promise<void> =>
      this.uploadPart(name, id, part, bytes).then((etag) => {
        parts.push({ part, etag });
      });
    /** Sends the full part buffer (after the part in flight, whose buffer becomes the spare). */
    const cut = async (): Promise<void> => {
      if (inFlight !== undefined) {
        await inFlight;
        inFlight = undefined;
        spare = inFlightBuffer;
      }
      uploadId ??= await this.call('start multipart upload', () =>
        this.client.initiateNewMultipartUpload(this.bucket, name, headers),
      );
      inFlightBuffer = fill;
      inFlight = send(uploadId, nextPart++, fill!);
      // Seen by the next `await inFlight` or the catch below; not an unhandled rejection.
      inFlight.catch(() => undefined);
      fill = spare;
      spare = undefined;
      filled = 0;
    };
    this.track(name, +1);
    try {
      for await (const chunk of body) {
        const bytes = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string);
        size += bytes.length;
        let offset = 0;
        while (offset < bytes.length) {
          // Cut a part only when more follows it: the last part may then be 1..partSize bytes,
          // and a body of at most one part goes up with a single PutObject.
          if (filled === this.partSize) await cut();
          fill ??= Buffer.allocUnsafe(this.partSize);
          const copied = bytes.copy(fill, filled, offset);
          filled += copied;
          offset += copied;
        }
      }
      if (inFlight !== undefined) await inFlight;
      inFlight = undefined;
      const rest = fill === undefined ? Buffer.alloc(0) : fill.subarray(0, filled);
      if (uploadId === undefined) {
        await this.call(
          'put',
          () => this.client.putObject(this.bucket, name, rest, rest.length, headers),
          { retry: true },
        );
        return { size };
      }
      const id = uploadId;
      await send(id, nextPart++, rest);
      parts.sort((a, b) => a.part - b.part);
      await this.call('complete multipart upload', () =>
        this.client.completeMultipartUpload(this.bucket, name, id, parts),
      );
      uploadId = undefined;
      return { size };
    } catch (err) {
      // S3 must not receive a part after the abort: let the one in flight end first.
      if (inFlight !== undefined) await inFlight.catch(() => undefined);
      if (!body.destroyed) body.destroy();
      if (uploadId !== undefined) await this.abortUpload(name, uploadId);
      throw err;
    } finally {
      this.track(name, -1);
    }
  }

  async get(key: string, range?: ByteRange): Promise<Readable> {
    assertSafeKey(key);
    if (range !== undefined) assertByteRange(range);
    await this.ensureBucket();
    const name = this.objectName(key);
    const notFound = (): never => {
      throw fileNotFound(key);
    };
    if (range === undefined) {
      return this.call('get', () => this.client.getObject(this.bucket, name), {
        retry: true,
        notFound,
      });
    }
    let body: Readable;
    try {
      body = await this.call(
        'ranged get',
        () =>
          this.client.getPartialObject(this.bucket, name, range.start, range.end - range.start + 1),
        { retry: true, notFound },
      );
    } catch (err) {
      // S3's answer to a range starting at or past the object's end (416): the port's "nothing".
      if (s3Code(err) === 'InvalidRange') return Readable.from([]);
      throw err;
    }
    // A store that ignored the Range header sends the object from its first byte: those would
    // be the wrong bytes, whatever their number.
    const status = (body as Partial<IncomingMessage>).statusCode;
    if (status !== undefined && status !== 206) {
      body.destroy();
      throw new Error(`the object store answered a ranged read of ${name} with ${status}, not 206`);
    }
    return body;
  }

  async stat(key: string): Promise<{ size: number } | null> {
    assertSafeKey(key);
    await this.ensureBucket();
    const found = await this.call<{ size: number } | null>(
      'stat',
      () => this.client.statObject(this.bucket, this.objectName(key)),
      { retry: true, notFound: () => null },
    );
    return found === null ? null : { size: found.size };
  }

  async copy(fromKey: string, toKey: string, size?: number): Promise<void> {
    assertSafeKey(fromKey);
    assertSafeKey(toKey);
    await this.ensureBucket();
    const from = this.objectName(fromKey);
    const to = this.objectName(toKey);
    const notFound = (): never => {
      throw fileNotFound(fromKey);
    };
    // A source known to fit one CopyObject needs no lookup first (a missing one still answers
    // NoSuchKey); a larger one is copied in parts pinned to the ETag the lookup gives.
    if (size !== undefined && size <= this.copyPartSize && from !== to) {
      await this.copyWhole(from, to, notFound);
      return;
    }
    const source = await this.call(
      'stat copy source',
      () => this.client.statObject(this.bucket, from),
      {
        retry: true,
        notFound,
      },
    );
    // S3 refuses to copy an object onto itself unchanged; there is nothing to do anyway (once
    // the source is known to exist, as on the filesystem).
    if (from === to) return;
    if (source.size <= this.copyPartSize) {
      await this.copyWhole(from, to, notFound);
      return;
    }
    await this.copyInParts(from, to, source.size, source.etag, source.metaData, notFound);
  }

  private async copyWhole(from: string, to: string, notFound: () => never): Promise<void> {
    await this.call(
      'copy',
      () =>
        this.client.copyObject(
          new CopySourceOptions({ Bucket: this.bucket, Object: from }),
          new CopyDestinationOptions({ Bucket: this.bucket, Object: to }),
        ),
      { retry: true, notFound },
    );
  }

  async deletePrefix(prefix: string): Promise<void> {
    assertSafeKey(prefix, { prefix: true });
    await this.ensureBucket();
    const full = this.objectName(prefix);
    await this.call('delete prefix', async () => {
      let batch: string[] = [];
      // Deleting what a page listed does not disturb the listing: the continuation token
      // points past it.
      for await (const item of this.client.listObjectsV2(this.bucket, full, true)) {
        const name = (item as { name?: string }).name;
        if (name === undefined) continue;
        batch.push(name);
        if (batch.length === 1000) {
          await this.removeBatch(batch);
          batch = [];
        }
      }
      if (batch.length > 0) await this.removeBatch(batch);
    });
  }

  async deleteObjects(keys: readonly string[]): Promise<void> {
    for (const key of keys) assertSafeKey(key);
    if (keys.length === 0) return;
    await this.ensureBucket();
    const names = keys.map((key) => this.objectName(key));
    // Deleting is idempotent: a reset connection gets a second attempt.
    await this.call(
      'delete objects',
      async () => {
        for (let i = 0; i < names.length; i += 1000)
          await this.removeBatch(names.slice(i, i + 1000));
      },
      { retry: true },
    );
  }

  /**
   * Aborts the incomplete multipart uploads under the prefix that a process killed mid-upload or
   * mid-copy left behind, started more than `olderThanMs` ago (0: all), except those of objects
   * this instance is writing (marked before their upload starts, so none is missed). Uploads
   * that fail while the process lives are aborted where they fail; this is for the others.
   */
  async sweepAbandonedWrites(olderThanMs: number): Promise<number> {
    await this.ensureBucket();
    const before = Date.now() - olderThanMs;
    return abortIncompleteUploads(
      this.client,
      this.bucket,
      this.prefix,
      (upload) =>
        !this.writing.has(upload.key) && (olderThanMs === 0 || upload.initiated.getTime() < before),
      (what, fn) => this.call(what, fn),
    );
  }

  uri(key: string): string {
    return `s3://${this.bucket}/${this.objectName(key)}`;
  }

  /** An authenticated HEAD of the bucket; creates the bucket when it is missing. */
  async ping(): Promise<void> {
    const exists = await this.call('ping', () => this.client.bucketExists(this.bucket), {
      retry: true,
    });
    if (exists) {
      this.bucketReady = true;
      return;
    }
    this.bucketReady = false;
    await this.ensureBucket(true);
  }

  onApplicationShutdown(): void {
    this.agent.destroy();
  }

  private track(name: string, change: 1 | -1): void {
    const count = (this.writing.get(name) ?? 0) + change;
    if (count > 0) this.writing.set(name, count);
    else this.writing.delete(name);
  }

  private objectName(key: string): string {
    return this.prefix + key;
  }

  /** Makes sure the bucket exists, once; a failure is not remembered, the next call tries again. */
  private ensureBucket(knownMissing = false): Promise<void> {
    if (this.bucketReady) return Promise.resolve();
    this.bucketPending ??= this.createBucketIfMissing(knownMissing).then(
      () => {
        this.bucketReady = true;
        this.bucketPending = undefined;
      },
      (err: unknown) => {
        this.bucketPending = undefined;
        throw err;
      },
    );
    return this.bucketPending;
  }

  private async createBucketIfMissing(knownMissing: boolean): Promise<void> {
    const exists = () =>
      this.call('check bucket', () => this.client.bucketExists(this.bucket), { retry: true });
    if (!knownMissing && (await exists())) return;
    try {
      await this.client.makeBucket(this.bucket, this.settings.region);
      this.logger.log({ bucket: this.bucket }, 'created the artifact bucket');
    } catch (err) {
      const code = s3Code(err);
      if (code === 'BucketAlreadyOwnedByYou') return;
      // Another replica may have won the race; if it belongs to someone else, HEAD says 403.
      if (code === 'BucketAlreadyExists' && (await exists())) return;
      const translated = this.translate('create bucket', err);
      if (translated instanceof RegistryError) throw translated;
      // Without its bucket the store is of no use to us, whatever the reason.
      this.logger.error(
        { err: describeCause(err), bucket: this.bucket },
        'could not create the artifact bucket; answering 503',
      );
      throw RegistryError.unavailable('object store');
    }
  }

  private async uploadPart(name: string, uploadId: string, part: number, bytes: Buffer) {
    const md5 = createHash('md5').update(bytes).digest('base64');
    const result = await this.call(
      'upload part',
      () =>
        this.client.uploadPart(
          {
            bucketName: this.bucket,
            objectName: name,
            uploadID: uploadId,
            partNumber: part,
            headers: { 'Content-MD5': md5 },
          },
          bytes,
        ),
      { retry: true },
    );
    return result.etag;
  }

  private async copyInParts(
    from: string,
    to: string,
    size: number,
    etag: string,
    metaData: Record<string, unknown>,
    notFound: () => never,
  ): Promise<void> {
    const headers: Record<string, string> = {};
    const contentType = metaData['content-type'];
    if (typeof contentType === 'string') headers['Content-Type'] = contentType;
    this.track(to, +1);
    try {
      await this.copyInPartsTracked(from, to, size, etag, headers, notFound);
    } finally {
      this.track(to, -1);
    }
  }

  private async copyInPartsTracked(
    from: string,
    to: string,
    size: number,
    etag: string,
    headers: Record<string, string>,
    notFound: () => never,
  ): Promise<void> {
    const uploadId = await this.call('start multipart copy', () =>
      this.client.initiateNewMultipartUpload(this.bucket, to, headers),
    );
    try {
      const tasks: (() => Promise<{ part: number; etag: string }>)[] = [];
      for (let start = 0, part = 1; start < size; start += this.copyPartSize, part++) {
        const end = Math.min(start + this.copyPartSize, size) - 1;
        const number = part;
        tasks.push(async () => {
          const result = await this.call(
            'copy part',
            () =>
              this.client.uploadPart({
                bucketName: this.bucket,
                objectName: to,
                uploadID: uploadId,
                partNumber: number,
                headers: {
                  'x-amz-copy-source': encodeURI(`${this.bucket}/${from}`),
                  'x-amz-copy-source-range': `bytes=${start}-${end}`,
                  // Every part from the same version of the source, or the copy fails.
                  'x-amz-copy-source-if-match': `"${etag}"`,
                },
              }),
            { retry: true, notFound },
          );
          return { part: number, etag: result.etag };
        });
      }
      const parts = await runLimited(tasks, this.copyConcurrency);
      await this.call('complete multipart copy', () =>
        this.client.completeMultipartUpload(this.bucket, to, uploadId, parts),
      );
    } catch (err) {
      await this.abortUpload(to, uploadId);
      throw err;
    }
  }

  /** Best effort: a failed abort leaves parts that a lifecycle rule has to remove. */
  private async abortUpload(name: string, uploadId: string): Promise<void> {
    try {
      await this.client.abortMultipartUpload(this.bucket, name, uploadId);
    } catch (err) {
      if (s3Code(err) === 'NoSuchUpload') return;
      this.logger.warn(
        { err: describeCause(err), bucket: this.bucket, key: name, uploadId },
        'could not abort a failed multipart upload; its parts stay until a lifecycle rule ' +
          '(AbortIncompleteMultipartUpload) removes them',
      );
    }
  }

  private async removeBatch(names: string[]): Promise<void> {
    const results = await this.client.removeObjects(this.bucket, names);
    // Quiet mode: only failures come back (as {Error: {...}} or bare, depending on the parse).
    type DeleteError = { Code?: string; Key?: string; Message?: string };
    const failed: DeleteError[] = [];
    for (const result of results) {
      const e = result?.Error ?? (result as DeleteError | null | undefined);
      if (e?.Code !== undefined && e.Code !== 'NoSuchKey') failed.push(e);
    }
    if (failed.length > 0) {
      const err = new S3Error(
        `${failed.length} deletions failed, e.g. ${failed[0].Key}: ${failed[0].Message}`,
      );
      err.code = failed[0].Code;
      throw err;
    }
  }

  /**
   * Runs one call to the store. Missing objects go to `notFound` when given; idempotent calls
   * (`retry`) get one more attempt after a reset connection; failures are translated.
   */
  private async call<T>(
    what: string,
    fn: () => Promise<T>,
    options: { retry?: boolean; notFound?: () => T } = {},
  ): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await fn();
      } catch (err) {
        if (s3Code(err) === 'NoSuchBucket') this.bucketReady = false;
        if (options.notFound !== undefined && isMissing(err)) return options.notFound();
        if (options.retry && attempt === 1 && isResetConnection(err)) continue;
        throw this.translate(what, err);
      }
    }
  }

  private translate(what: string, err: unknown): unknown {
    return translate(this.logger, this.bucket, what, err);
  }
}
