import Busboy, { type BusboyHeaders, type BusboyInstance } from '@fastify/busboy';
import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Readable, Transform, TransformCallback } from 'node:stream';
import { ErrorCode } from '../../common/errors/error-code';
import { RegistryError } from '../../common/errors/registry-error';
import { ObjectStorage } from '../../storage/object-storage';
import { isPartName, ModelFileName, PartName, PARTS } from '../artifact-files';
import type { StoredFile } from '../artifacts.repository';
import {
  checkTextDocument,
  checkYamlDocument,
  parseConfigDocument,
  parseMetricsDocument,
} from '../metadata-documents';

export interface ReceiveLimits {
  fileBytes: number;
  metadataBytes: number;
  /** The model formats this deployment accepts (ARTIFACT_MODEL_FILES). */
  modelFiles: readonly ModelFileName[];
}

/** How a gzip stream begins (RFC 1952): a `.tar.gz` bundle that does not is refused. */
const GZIP_MAGIC = Buffer.from([0x1f, 0x8b]);

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

/**
 * Counts and hashes bytes on their way to storage; fails the stream past `limit`, or when the
 * bytes do not begin with `magic` (a format's signature), before a byte of them is stored.
 */
class MeteringTransform extends Transform {
  private readonly hash = createHash('sha256');
  private head = Buffer.alloc(0);
  size = 0;

  constructor(
    private readonly part: string,
    private readonly limit: number,
    private readonly magic?: { bytes: Buffer; what: string },
  ) {
    super();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.size += chunk.length;
    if (this.size > this.limit) {
      done(tooLarge(this.part, this.limit));
      return;
    }
    if (this.magic !== undefined && this.head.length < this.magic.bytes.length) {
      this.head = Buffer.concat([this.head, chunk]).subarray(0, this.magic.bytes.length);
      const seen = this.magic.bytes.subarray(0, this.head.length);
      if (!this.head.equals(seen)) {
        done(RegistryError.validation(`${this.part} is not ${this.magic.what}`));
        return;
      }
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
    case 'mlmodel':
    case 'conda':
    case 'python_env':
      checkYamlDocument(PARTS[part].storedName(undefined, []), bytes);
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

/**
 * An optional part with no bytes is read as not sent (decision): it is what an HTML form, Swagger
 * UI among them, sends for a file input left empty ("No file chosen": a part with no content,
 * Swagger UI names it `blob`), and a client cannot mean anything else by it. It is neither stored
 * nor listed. The model is never optional: an empty one is still a 400, and any part with bytes
 * is checked as before.
 */
function isAbsent(part: PartName, size: number): boolean {
  return size === 0 && part !== 'model';
}

/** How much of a rejected upload is still read (so a client can get our answer) before dropping it. */
const MAX_DRAIN_BYTES = 16 * 1024 * 1024;
/** How long a client still sending after our answer was written has to read it before it is cut off. */
const AFTER_ANSWER_GRACE_MS = 2_000;

/**
 * Reads and discards what is left of a rejected request, so that a client still sending gets
 * to read the error answer. Past MAX_DRAIN_BYTES nothing more is read (the client's writes
 * block) until the answer has been written; the connection is then dropped once the client
 * has had AFTER_ANSWER_GRACE_MS or another MAX_DRAIN_BYTES to take it. Destroying the socket
 * before the answer is out would reset the connection under a client that is still sending,
 * and it would never see the answer (a slow cleanup, e.g. a store that is down, made that
 * happen). Without `answer` (no HTTP response to wait for), past the limit it drops at once.
 */
function drainThenDrop(req: IncomingMessage, answer: ServerResponse | undefined): void {
  let drained = 0;
  let limit = MAX_DRAIN_BYTES;
  let answered = answer === undefined || answer.writableFinished;
  // Only a body still arriving is cut: once it has all come, the connection may be serving the
  // client's next request.
  const drop = (): void => {
    if (!req.complete && !req.destroyed) req.destroy();
  };
  const afterAnswer = (): void => {
    if (answered) return;
    answered = true;
    limit = drained + MAX_DRAIN_BYTES;
    const grace = setTimeout(drop, AFTER_ANSWER_GRACE_MS).unref();
    req.once('end', () => clearTimeout(grace));
    req.resume();
  };
  answer?.once('finish', afterAnswer);
  req.on('data', (chunk: Buffer) => {
    drained += chunk.length;
    if (drained <= limit) return;
    if (answered) drop();
    else req.pause();
  });
  req.resume();
}

/**
 * Reads one multipart/form-data artifact upload and writes each part to storage under
 * `prefix` as it arrives: binary parts are streamed (never held in memory) with their SHA-256
 * computed on the way; the small metadata parts are read whole and checked before they are
 * stored. On the first problem every part still in flight is stopped and `receive()` rejects
 * only once nothing is being written any more, so the caller can delete what was stored.
 * One instance per upload.
 */
export class ArtifactReceiver {
  private readonly seen = new Set<PartName>();
  private readonly pending: Promise<StoredFile | null>[] = [];
  private readonly active = new Set<Readable>();
  private failure: unknown;
  private finished = false;
  private parser?: BusboyInstance;
  private resolve!: (files: StoredFile[]) => void;
  private reject!: (err: Error) => void;

  constructor(
    private readonly req: IncomingMessage,
    private readonly prefix: string,
    private readonly storage: ObjectStorage,
    private readonly limits: ReceiveLimits,
    /** The request's answer: a rejected body is drained until it has been written. */
    private readonly answer?: ServerResponse,
  ) {}

  receive(): Promise<StoredFile[]> {
    return new Promise<StoredFile[]>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
      let parser: BusboyInstance;
      try {
        parser = Busboy({
          headers: this.req.headers as BusboyHeaders,
          // Every part is read as bytes, a file part or a form field (no filename) alike: the
          // metadata documents are stored exactly as sent (their SHA-256 is of the bytes the
          // client has), and checked as bytes, never first decoded by a charset the part names.
          isPartAFile: () => true,
          limits: {
            fileSize: Math.max(this.limits.fileBytes, this.limits.metadataBytes) + 1,
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
      this.parser = parser;
      parser.on(
        'file',
        (
          field: string | undefined,
          stream: Readable,
          filename: string | undefined,
          _encoding: string,
          mimeType: string,
        ) => this.onPart(field, stream, filename, mimeType),
      );
      parser.on('partsLimit', () =>
        this.fail(RegistryError.validation('too many parts: at most one of each')),
      );
      parser.on('filesLimit', () =>
        this.fail(RegistryError.validation('too many files: at most one of each')),
      );
      parser.on('error', (err: Error) =>
        this.fail(
          RegistryError.validation(`request is not valid multipart/form-data: ${err.message}`),
        ),
      );
      // After the request's end, once every part has been read to its end.
      parser.on('finish', () => this.onFinish());
      this.req.on('aborted', () =>
        this.fail(RegistryError.validation('upload was aborted by the client')),
      );
      this.req.pipe(parser);
    });
  }

  private onPart(
    field: string | undefined,
    stream: Readable,
    filename: string | undefined,
    mimeType: string,
  ): void {
    // Errors are handled where the stream is consumed; this keeps one raised before that
    // (an abandoned upload) from crashing the process.
    stream.on('error', () => undefined);
    const part = this.failure === undefined ? this.accept(field) : undefined;
    if (part === undefined) {
      stream.resume();
      return;
    }
    if (PARTS[part].kind === 'binary' && isFormField(filename, mimeType)) {
      stream.resume();
      this.fail(RegistryError.validation(`${part} must be sent as a file`));
      return;
    }
    this.active.add(stream);
    stream.on('close', () => this.active.delete(stream));
    if (PARTS[part].kind === 'binary') {
      this.track(this.streamBinary(part, stream, filename));
    } else {
      this.track(
        this.readWhole(part, stream).then((bytes) =>
          // An empty optional part is absent: see isAbsent.
          isAbsent(part, bytes.length) ? null : this.storeBuffer(part, bytes),
        ),
      );
    }
  }

  private onFinish(): void {
    if (this.failure !== undefined || this.finished) return;
    this.finished = true;
    void Promise.all(this.pending).then((stored) => {
      if (this.failure !== undefined) return;
      if (!this.seen.has('model')) {
        this.fail(
          RegistryError.validation(
            'model is required: a file part named model (e.g. model.pkl or model.pt)',
          ),
        );
        return;
      }
      this.resolve(stored.filter((f): f is StoredFile => f !== null));
    });
  }

  private fail(err: unknown): void {
    if (this.failure !== undefined) return;
    this.failure = err;
    if (this.parser !== undefined) this.req.unpipe(this.parser);
    drainThenDrop(this.req, this.answer);
    for (const stream of this.active) stream.destroy(new Error('upload abandoned'));
    void Promise.allSettled(this.pending).then(() => this.reject(err as Error));
  }

  private track(work: Promise<StoredFile | null>): void {
    this.pending.push(
      work.catch((err: unknown) => {
        this.fail(err);
        return null;
      }),
    );
  }

  // busboy reports a part with an empty name (`name=""`) as undefined.
  private accept(name: string | undefined): PartName | undefined {
    if (name === undefined || !isPartName(name)) {
      this.fail(
        RegistryError.validation(
          `unknown part '${(name ?? '').slice(0, 64)}': expected model, preprocessor, config, metrics, requirements, mlmodel, conda or python_env`,
        ),
      );
      return undefined;
    }
    if (this.seen.has(name)) {
      this.fail(RegistryError.validation(`part '${name}' was sent more than once`));
      return undefined;
    }
    this.seen.add(name);
    return name;
  }

  private async storeBuffer(part: PartName, bytes: Buffer): Promise<StoredFile> {
    validateMetadata(part, bytes);
    const name = PARTS[part].storedName(undefined, this.limits.modelFiles);
    await this.storage.put(this.prefix + name, Readable.from([bytes]), {
      contentType: PARTS[part].contentType,
    });
    return { name, size: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') };
  }

  private readWhole(part: PartName, stream: Readable): Promise<Buffer> {
    const limit = this.limits.metadataBytes;
    return new Promise<Buffer>((done, failed) => {
      const chunks: Buffer[] = [];
      let size = 0;
      stream.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > limit) {
          stream.destroy(tooLarge(part, limit));
          return;
        }
        chunks.push(chunk);
      });
      stream.on('error', failed);
      stream.on('close', () => failed(new Error('part ended early')));
      stream.on('end', () => done(Buffer.concat(chunks)));
    });
  }

  private async streamBinary(
    part: PartName,
    stream: Readable,
    uploadedName: string | undefined,
  ): Promise<StoredFile | null> {
    const name = PARTS[part].storedName(uploadedName, this.limits.modelFiles);
    const limit = this.limits.fileBytes;
    const meter = new MeteringTransform(
      part,
      limit,
      name === 'model.tar.gz'
        ? { bytes: GZIP_MAGIC, what: 'a gzip file (model.tar.gz)' }
        : undefined,
    );
    // Its errors reach us through storage.put; until put attaches, keep them from crashing the process.
    meter.on('error', () => undefined);
    stream.on('limit', () => meter.destroy(tooLarge(part, limit)));
    stream.on('error', (err) => meter.destroy(err));
    this.active.add(meter);
    stream.pipe(meter);
    try {
      await this.storage.put(this.prefix + name, meter, { contentType: PARTS[part].contentType });
    } finally {
      this.active.delete(meter);
    }
    if (isAbsent(part, meter.size)) {
      await this.storage.deleteObjects([this.prefix + name]);
      return null;
    }
    if (meter.size === 0) throw RegistryError.validation(`${part} file is empty`);
    return { name, size: meter.size, sha256: meter.digest() };
  }
}
