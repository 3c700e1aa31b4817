import type { Logger } from '@nestjs/common';
import type { Client } from 'minio';
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { describeCause, s3Code } from './s3-errors';
import { streamParts } from '../stream-parts';

/**
 * Runs one call to the store with the storage's own timeouts and error translation; `retry`
 * for idempotent calls, `notFound` for what a missing object means.
 */
export type StoreCall = <T>(
  what: string,
  fn: () => Promise<T>,
  options?: { retry?: boolean; notFound?: () => T },
) => Promise<T>;

export interface MultipartSizes {
  /** Upload part size: the memory an upload holds is two parts. */
  partSize: number;
  /** UploadPartCopy part size. */
  copyPartSize: number;
  /** UploadPartCopy calls in flight for one copy. */
  copyConcurrency: number;
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
 * The S3 storage's writes by parts (why not minio's own putObject and composeObject: see
 * `S3ObjectStorage`): a streamed upload, one PutObject up to one part and a multipart upload
 * beyond, and a server-side copy by UploadPartCopy. Each is completed, or aborted where it fails
 * once its parts in flight have settled. The objects being written are tracked, so that the
 * sweep of abandoned uploads leaves theirs alone.
 */
export class S3MultipartWriter {
  /** Object names this instance is writing (multipart or not), with how many writes each. */
  private readonly writing = new Map<string, number>();

  constructor(
    private readonly client: Client,
    private readonly bucket: string,
    private readonly sizes: MultipartSizes,
    private readonly call: StoreCall,
    /** The storage's: its writes are logged under one name. */
    private readonly logger: Logger,
  ) {}

  /** Whether this instance is writing the object `name` (marked before its upload starts). */
  isWriting(name: string): boolean {
    return this.writing.has(name);
  }

  /**
   * Streams `body` to the object `name`: one PutObject for a body of at most one part, else a
   * multipart upload with at most one part in flight while the next one is read.
   */
  async upload(
    name: string,
    body: Readable,
    headers: Record<string, string>,
  ): Promise<{ size: number }> {
    let uploadId: string | undefined;
    const parts: { part: number; etag: string }[] = [];
    const send = async (bytes: Buffer, part: number): Promise<void> => {
      uploadId ??= await this.call('start multipart upload', () =>
        this.client.initiateNewMultipartUpload(this.bucket, name, headers),
      );
      parts.push({ part, etag: await this.uploadPart(name, uploadId, part, bytes) });
    };
    this.track(name, +1);
    try {
      // Parts are numbered from 1; the last one (1..partSize bytes) is sent below, and a body
      // of at most one part goes up with a single PutObject.
      const { size, sent, rest } = await streamParts(body, this.sizes.partSize, (bytes, i) =>
        send(bytes, i + 1),
      );
      if (uploadId === undefined) {
        await this.call(
          'put',
          () => this.client.putObject(this.bucket, name, rest, rest.length, headers),
          { retry: true },
        );
        return { size };
      }
      await send(rest, sent + 1);
      parts.sort((a, b) => a.part - b.part);
      const id: string = uploadId;
      await this.call('complete multipart upload', () =>
        this.client.completeMultipartUpload(this.bucket, name, id, parts),
      );
      uploadId = undefined;
      return { size };
    } catch (err) {
      // streamParts let the part in flight end first: S3 receives no part after the abort.
      if (!body.destroyed) body.destroy();
      if (uploadId !== undefined) await this.abortUpload(name, uploadId);
      throw err;
    } finally {
      this.track(name, -1);
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

  /**
   * Copies the object `from` to `to` by UploadPartCopy parts of `copyPartSize`, each pinned to
   * the source's `etag`; `size`, `etag` and `metaData` (its content type goes along) are what
   * the source's lookup gave.
   */
  async copyInParts(
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
      for (let start = 0, part = 1; start < size; start += this.sizes.copyPartSize, part++) {
        const end = Math.min(start + this.sizes.copyPartSize, size) - 1;
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
      const parts = await runLimited(tasks, this.sizes.copyConcurrency);
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

  private track(name: string, change: 1 | -1): void {
    const count = (this.writing.get(name) ?? 0) + change;
    if (count > 0) this.writing.set(name, count);
    else this.writing.delete(name);
  }
}
