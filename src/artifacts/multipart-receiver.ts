import Busboy, { type BusboyHeaders, type BusboyInstance } from '@fastify/busboy';
import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { Readable, Transform, TransformCallback } from 'node:stream';
import { ErrorCode } from '../common/errors/error-code';
import { RegistryError } from '../common/errors/registry-error';
import { ObjectStorage } from '../storage/object-storage';
import { isPartName, PartName, PARTS } from './artifact-files';
import type { StoredFile } from './artifacts.repository';
import { checkTextDocument, parseConfigDocument, parseMetricsDocument } from './metadata-documents';

export interface ReceiveLimits {
  fileBytes: number;
  metadataBytes: number;
}

function tooLarge(part: string, limit: number): RegistryError {
  return new RegistryError(
    ErrorCode.PayloadTooLarge,
    `${part} is larger than the limit of ${limit} bytes`,
    {
      field: part,
      limit_bytes: limit,
    },
  );
}

/** Counts and hashes bytes on their way to storage; fails the stream past `limit`. */
class MeteringTransform extends Transform {
  private readonly hash = createHash('sha256');
  size = 0;

  constructor(
    private readonly part: string,
    private readonly limit: number,
  ) {
    super();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.size += chunk.length;
    if (this.size > this.limit) {
      done(tooLarge(this.part, this.limit));
      return;
    }
    this.hash.update(chunk);
    done(null, chunk);
  }

  digest(): string {
    return this.hash.digest('hex');
  }
}

function validateMetadata(part: PartName, bytes: Buffer): void {
  switch (part) {
    case 'metrics':
      parseMetricsDocument(bytes);
      return;
    case 'config':
      parseConfigDocument(bytes);
      return;
    case 'requirements':
      checkTextDocument('requirements.txt', bytes);
      return;
    case 'model':
    case 'preprocessor':
      return;
  }
}

/**
 * A part a form would send as a field rather than a file: no filename, and not declared as
 * bytes (what a browser and curl's `-F name=value` send for text).
 */
function isFormField(filename: string | undefined, mimeType: string): boolean {
  return filename === undefined && mimeType !== 'application/octet-stream';
}

/** How much of a rejected upload is still read (so a client can get our answer) before dropping it. */
const MAX_DRAIN_BYTES = 16 * 1024 * 1024;

/**
 * Reads and discards what is left of a rejected request, so that a client still sending gets
 * to read the error answer; a client that keeps sending past MAX_DRAIN_BYTES is cut off.
 */
function drainThenDrop(req: IncomingMessage): void {
  let drained = 0;
  req.on('data', (chunk: Buffer) => {
    drained += chunk.length;
    if (drained > MAX_DRAIN_BYTES) req.destroy();
  });
  req.resume();
}

/**
 * Reads one multipart/form-data artifact upload and writes each part to storage under
 * `prefix` as it arrives: binary parts are streamed (never held in memory) with their SHA-256
 * computed on the way; the small metadata parts are read whole and checked before they are
 * stored. On the first problem every part still in flight is stopped and the promise rejects
 * only once nothing is being written any more, so the caller can delete what was stored.
 */
export function receiveArtifact(
  req: IncomingMessage,
  prefix: string,
  storage: ObjectStorage,
  limits: ReceiveLimits,
): Promise<StoredFile[]> {
  return new Promise<StoredFile[]>((resolve, reject) => {
    let parser: BusboyInstance;
    try {
      parser = Busboy({
        headers: req.headers as BusboyHeaders,
        // Every part is read as bytes, a file part or a form field (no filename) alike: the
        // metadata documents are stored exactly as sent (their SHA-256 is of the bytes the
        // client has), and checked as bytes, never first decoded by a charset the part names.
        isPartAFile: () => true,
        limits: {
          fileSize: Math.max(limits.fileBytes, limits.metadataBytes) + 1,
          // Generous: a repeated or unknown part is reported by name before these trip.
          files: 10,
          parts: 10,
          fieldNameSize: 64,
          headerPairs: 32,
        },
      });
    } catch {
      reject(
        RegistryError.validation('request is not valid multipart/form-data (missing boundary?)'),
      );
      return;
    }

    const seen = new Set<PartName>();
    const pending: Promise<StoredFile | null>[] = [];
    const active = new Set<Readable>();
    let failure: unknown;
    let finished = false;

    const fail = (err: unknown): void => {
      if (failure !== undefined) return;
      failure = err;
      req.unpipe(parser);
      drainThenDrop(req);
      for (const stream of active) stream.destroy(new Error('upload abandoned'));
      void Promise.allSettled(pending).then(() => reject(err as Error));
    };

    const track = (work: Promise<StoredFile>): void => {
      pending.push(
        work.catch((err: unknown) => {
          fail(err);
          return null;
        }),
      );
    };

    // busboy reports a part with an empty name (`name=""`) as undefined.
    const accept = (name: string | undefined): PartName | undefined => {
      if (name === undefined || !isPartName(name)) {
        fail(
          RegistryError.validation(
            `unknown part '${(name ?? '').slice(0, 64)}': expected model, preprocessor, config, metrics or requirements`,
          ),
        );
        return undefined;
      }
      if (seen.has(name)) {
        fail(RegistryError.validation(`part '${name}' was sent more than once`));
        return undefined;
      }
      seen.add(name);
      return name;
    };

    const storeBuffer = async (part: PartName, bytes: Buffer): Promise<StoredFile> => {
      validateMetadata(part, bytes);
      const name = PARTS[part].storedName(undefined);
      await storage.put(prefix + name, Readable.from([bytes]), {
        contentType: PARTS[part].contentType,
      });
      return { name, size: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') };
    };

    const readWhole = (part: PartName, stream: Readable): Promise<Buffer> =>
      new Promise<Buffer>((done, failed) => {
        const chunks: Buffer[] = [];
        let size = 0;
        stream.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > limits.metadataBytes) {
            stream.destroy(tooLarge(part, limits.metadataBytes));
            return;
          }
          chunks.push(chunk);
        });
        stream.on('error', failed);
        stream.on('close', () => failed(new Error('part ended early')));
        stream.on('end', () => done(Buffer.concat(chunks)));
      });

    const streamBinary = async (
      part: PartName,
      stream: Readable,
      uploadedName: string | undefined,
    ): Promise<StoredFile> => {
      const name = PARTS[part].storedName(uploadedName);
      const meter = new MeteringTransform(part, limits.fileBytes);
      // Its errors reach us through storage.put; until put attaches, keep them from crashing the process.
      meter.on('error', () => undefined);
      stream.on('limit', () => meter.destroy(tooLarge(part, limits.fileBytes)));
      stream.on('error', (err) => meter.destroy(err));
      active.add(meter);
      stream.pipe(meter);
      try {
        await storage.put(prefix + name, meter, { contentType: PARTS[part].contentType });
      } finally {
        active.delete(meter);
      }
      if (meter.size === 0) throw RegistryError.validation(`${part} file is empty`);
      return { name, size: meter.size, sha256: meter.digest() };
    };

    parser.on(
      'file',
      (
        field: string | undefined,
        stream: Readable,
        filename: string | undefined,
        _encoding: string,
        mimeType: string,
      ) => {
        // Errors are handled where the stream is consumed; this keeps one raised before that
        // (an abandoned upload) from crashing the process.
        stream.on('error', () => undefined);
        const part = failure === undefined ? accept(field) : undefined;
        if (part === undefined) {
          stream.resume();
          return;
        }
        if (PARTS[part].kind === 'binary' && isFormField(filename, mimeType)) {
          stream.resume();
          fail(RegistryError.validation(`${part} must be sent as a file`));
          return;
        }
        active.add(stream);
        stream.on('close', () => active.delete(stream));
        if (PARTS[part].kind === 'binary') {
          track(streamBinary(part, stream, filename));
        } else {
          track(readWhole(part, stream).then((bytes) => storeBuffer(part, bytes)));
        }
      },
    );

    parser.on('partsLimit', () =>
      fail(RegistryError.validation('too many parts: at most one of each')),
    );
    parser.on('filesLimit', () =>
      fail(RegistryError.validation('too many files: at most one of each')),
    );
    parser.on('error', (err: Error) =>
      fail(RegistryError.validation(`request is not valid multipart/form-data: ${err.message}`)),
    );
    // After the request's end, once every part has been read to its end.
    parser.on('finish', () => {
      if (failure !== undefined || finished) return;
      finished = true;
      void Promise.all(pending).then((stored) => {
        if (failure !== undefined) return;
        if (!seen.has('model')) {
          fail(
            RegistryError.validation(
              'model is required: a file part named model (model.pkl or model.pt)',
            ),
          );
          return;
        }
        resolve(stored.filter((f): f is StoredFile => f !== null));
      });
    });
    req.on('aborted', () => fail(RegistryError.validation('upload was aborted by the client')));

    req.pipe(parser);
  });
}
