import type { Logger } from '@nestjs/common';
import type { Client } from 'minio';
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { describeCause, s3Code } from './s3-errors';

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
          if (filled === this.sizes.partSize) await cut();
          fill ??= Buffer.allocUnsafe(this.sizes.partSize);
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
