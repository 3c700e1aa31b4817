import { Logger, OnApplicationShutdown } from '@nestjs/common';
import { Client, CopyDestinationOptions, CopySourceOptions, S3Error } from 'minio';
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
import { S3MultipartWriter } from './s3-multipart-writer';
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

/**
 * Objects in an S3-compatible store (AWS S3, MinIO, SeaweedFS, ...) through minio-js, with
 * path-style addressing, under `settings.prefix` in `settings.bucket`.
 *
 * - **Uploads** (`s3-multipart-writer.ts`) stream as multipart uploads of `partSize` (8 MiB)
 *   parts: at most one part is being sent while the next one is read, into two part buffers
 *   reused for the whole upload, so an upload holds about 16 MiB whatever its size.
 *   A body that fits in one part is sent with one PutObject. A multipart upload becomes visible
 *   only when completed; if the source or the store fails on the way it is aborted (after the
 *   part in flight settled), so nothing is left at the key and no parts are left behind. (minio's
 *   own putObject is not used: on a source error it neither aborts nor settles, and it resumes
 *   another writer's incomplete upload of the same key.)
 * - **Copies** are server-side: CopyObject up to `copyPartSize`, UploadPartCopy parts of
 *   `copyPartSize` beyond (CopyObject stops at 5 GiB; artifacts may be 10 GiB), pinned to the
 *   source's ETag, completed or aborted like uploads (`s3-multipart-writer.ts`). (minio's
 *   composeObject is not used: it numbers every range of one source as the same part and
 *   reports an aborted copy as success.)
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
  private readonly copyPartSize: number;
  private readonly writer: S3MultipartWriter;
  private bucketReady = false;
  private bucketPending?: Promise<void>;

  constructor(
    private readonly settings: S3Settings,
    options: S3StorageOptions = {},
  ) {
    super();
    this.bucket = settings.bucket;
    this.prefix = settings.prefix;
    const partSize = options.partSize ?? 8 * MiB;
    this.copyPartSize = Math.min(options.copyPartSize ?? 256 * MiB, 5 * 1024 * MiB);
    ({ client: this.client, agent: this.agent } = connectS3(settings, partSize, {
      requestMs: options.requestTimeoutMs ?? 10_000,
      transferMs: options.transferIdleTimeoutMs ?? 60_000,
      copyMs: options.copyTimeoutMs ?? 120_000,
    }));
    this.writer = new S3MultipartWriter(
      this.client,
      this.bucket,
      { partSize, copyPartSize: this.copyPartSize, copyConcurrency: options.copyConcurrency ?? 4 },
      (what, fn, callOptions) => this.call(what, fn, callOptions),
      this.logger,
    );
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
    return this.writer.upload(name, body, headers);
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
    await this.writer.copyInParts(from, to, source.size, source.etag, source.metaData, notFound);
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
        !this.writer.isWriting(upload.key) &&
        (olderThanMs === 0 || upload.initiated.getTime() < before),
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
