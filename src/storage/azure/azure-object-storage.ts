import {
  BlobBatch,
  type BlobDownloadResponseParsed,
  type ContainerClient,
} from '@azure/storage-blob';
import { Logger } from '@nestjs/common';
import { Readable } from 'node:stream';
import { RegistryError } from '../../common/errors/registry-error';
import type { AzureSettings } from '../../config/azure-settings';
import { assertByteRange, assertSafeKey, ByteRange, ObjectStorage } from '../object-storage';
import { AzureBlockWriter } from './azure-block-writer';
import {
  azureCode,
  describeCause,
  fileNotFound,
  isContainerMissing,
  isMissing,
  isResetConnection,
  translate,
} from './azure-errors';
import { AzureTimeoutError, connectAzure, idleGuarded } from './azure-transport';

const MiB = 1024 * 1024;
/** Azure's limit on the sub-requests of one blob batch. */
const BATCH_LIMIT = 256;

export interface AzureStorageOptions {
  /**
   * Longest wait for the answer to any call that is not a transfer (properties, listings,
   * batches, container checks, the start of a download). Default 10 s.
   */
  requestTimeoutMs?: number;
  /**
   * Longest wait for one block (or a single-shot body) to be sent and answered, and longest
   * silence while a download is read (a reader that stops reading for this long counts too).
   * Not a limit on a whole transfer. Default 60 s.
   */
  transferIdleTimeoutMs?: number;
  /** Longest wait for Put Block List and for a server-side copy to finish. Default 120 s. */
  copyTimeoutMs?: number;
  /** Upload block size: the memory an upload holds (twice). Default 8 MiB. */
  blockSize?: number;
}

/**
 * Objects in an Azure Blob Storage container (or Azurite) through @azure/storage-blob, as block
 * blobs under `settings.prefix`; URIs in MLflow's form, wasbs://<container>@<account>.blob.core.windows.net/<name>.
 *
 * - **Uploads** (`azure-block-writer.ts`) stream as blocks of `blockSize` (8 MiB), at most one
 *   in flight while the next is read, committed with one Put Block List: memory is two blocks
 *   whatever the size, and nothing is visible (nor a previous blob touched) before the commit.
 * - **Copies** are server-side Copy Blob (`beginCopyFromURL`) inside the account, waited for
 *   (within the account Azure usually finishes at once). A missing source is not found, and the
 *   destination is left as it was.
 * - **Ranged reads** are one ranged Get Blob; Azure's 416 for a range starting at or past the end
 *   is the port's empty stream.
 * - **Deletions** go as blob batches of up to 256 (one request), missing blobs ignored.
 * - **The container** is created when missing, lazily, on first use and in `ping`; a failure is
 *   not remembered, so the service boots with the store down and recovers when it is back.
 * - **Time limits**: every call runs under an AbortSignal of `requestTimeoutMs` /
 *   `transferIdleTimeoutMs` / `copyTimeoutMs`; downloads are guarded by idle time once their
 *   answer started. The SDK's retries are off; idempotent calls get one more try after a reset
 *   connection.
 * - **Errors** (`azure-errors.ts`): a missing blob is ARTIFACT_FILE_NOT_FOUND; a store that cannot
 *   be reached, is too slow, answers 5xx/ServerBusy or refuses our credentials is
 *   BACKEND_UNAVAILABLE (503 with Retry-After), the cause logged. Other errors are bugs and
 *   propagate as they are.
 */
export class AzureObjectStorage extends ObjectStorage {
  private readonly logger = new Logger(AzureObjectStorage.name);
  private readonly container: ContainerClient;
  private readonly prefix: string;
  private readonly requestMs: number;
  private readonly transferMs: number;
  private readonly copyMs: number;
  private readonly writer: AzureBlockWriter;
  private containerReady = false;
  private containerPending?: Promise<void>;

  constructor(
    private readonly settings: AzureSettings,
    options: AzureStorageOptions = {},
  ) {
    super();
    this.prefix = settings.prefix;
    this.requestMs = options.requestTimeoutMs ?? 10_000;
    this.transferMs = options.transferIdleTimeoutMs ?? 60_000;
    this.copyMs = options.copyTimeoutMs ?? 120_000;
    this.container = connectAzure(settings);
    this.writer = new AzureBlockWriter(
      this.container,
      {
        blockSize: options.blockSize ?? 8 * MiB,
        transferMs: this.transferMs,
        commitMs: this.copyMs,
      },
      (what, fn, callOptions) => this.call(what, fn, callOptions),
    );
  }

  async put(
    key: string,
    body: Readable,
    options: { contentType?: string } = {},
  ): Promise<{ size: number }> {
    assertSafeKey(key);
    try {
      await this.ensureContainer();
    } catch (err) {
      body.destroy();
      throw err;
    }
    // The source may have been abandoned while the container was being checked.
    if (body.destroyed) throw body.errored ?? new Error('source stream was destroyed');
    return this.writer.upload(this.objectName(key), body, options.contentType);
  }

  async get(key: string, range?: ByteRange): Promise<Readable> {
    assertSafeKey(key);
    if (range !== undefined) assertByteRange(range);
    await this.ensureContainer();
    const blob = this.container.getBlobClient(this.objectName(key));
    // One controller for the whole download: the request's time limit until the answer starts,
    // then the idle guard, which aborts it (and so the connection) when the bytes stop.
    const controller = new AbortController();
    let response: BlobDownloadResponseParsed;
    try {
      response = await this.call(
        range === undefined ? 'get' : 'ranged get',
        async (signal) => {
          signal.addEventListener('abort', () => controller.abort(signal.reason), { once: true });
          return blob.download(
            range?.start ?? 0,
            range === undefined ? undefined : range.end - range.start + 1,
            { abortSignal: controller.signal, maxRetryRequests: 0 },
          );
        },
        {
          timeoutMs: this.requestMs,
          retry: true,
          notFound: () => {
            throw fileNotFound(key);
          },
        },
      );
    } catch (err) {
      // Azure's answer to a range starting at or past the blob's end (416): the port's "nothing".
      if (range !== undefined && azureCode(err) === 'InvalidRange') return Readable.from([]);
      throw err;
    }
    const body = response.readableStreamBody as Readable | undefined;
    if (body === undefined) return Readable.from([]);
    const guarded = idleGuarded(body, this.transferMs, `reading ${blob.name}`);
    guarded.once('error', () => controller.abort());
    return guarded;
  }

  async stat(key: string): Promise<{ size: number } | null> {
    assertSafeKey(key);
    await this.ensureContainer();
    const blob = this.container.getBlobClient(this.objectName(key));
    const found = await this.call<{ contentLength?: number } | null>(
      'stat',
      (abortSignal) => blob.getProperties({ abortSignal }),
      { timeoutMs: this.requestMs, retry: true, notFound: () => null },
    );
    return found === null ? null : { size: found.contentLength ?? 0 };
  }

  async copy(fromKey: string, toKey: string): Promise<void> {
    assertSafeKey(fromKey);
    assertSafeKey(toKey);
    await this.ensureContainer();
    const from = this.container.getBlobClient(this.objectName(fromKey));
    const to = this.container.getBlobClient(this.objectName(toKey));
    const notFound = (): never => {
      throw fileNotFound(fromKey);
    };
    if (from.name === to.name) {
      // Azure refuses to copy a blob onto itself; nothing to do once it is known to exist.
      await this.call('stat copy source', (abortSignal) => from.getProperties({ abortSignal }), {
        timeoutMs: this.requestMs,
        retry: true,
        notFound,
      });
      return;
    }
    await this.call(
      'copy',
      async (abortSignal) => {
        // The source URL carries the SAS when that is our credential; with a key or an Entra
        // identity, Azure authorises a source in the same account with the request's own.
        const poller = await to.beginCopyFromURL(from.url, {
          abortSignal,
          intervalInMs: 200,
        });
        // Within the account the copy is usually done in the first answer; else polled.
        const done = await untilAborted(poller.pollUntilDone(), abortSignal, () =>
          poller.stopPolling(),
        );
        if (done.copyStatus !== undefined && done.copyStatus !== 'success') {
          throw new Error(`the copy of ${from.name} to ${to.name} ended ${done.copyStatus}`);
        }
      },
      // Copying again gives the same destination: idempotent.
      { timeoutMs: this.copyMs, retry: true, notFound },
    );
  }

  async deletePrefix(prefix: string): Promise<void> {
    assertSafeKey(prefix, { prefix: true });
    await this.ensureContainer();
    const full = this.objectName(prefix);
    let marker: string | undefined;
    // A page at a time, deleted before the next is asked for: the marker points past it.
    do {
      const token = marker;
      const page = await this.call(
        'list prefix',
        async (abortSignal) => {
          const pages = this.container
            .listBlobsFlat({ prefix: full, abortSignal })
            .byPage({ maxPageSize: BATCH_LIMIT, continuationToken: token });
          return (await pages.next()).value as
            { segment: { blobItems: { name: string }[] }; continuationToken?: string } | undefined;
        },
        { timeoutMs: this.requestMs, retry: true },
      );
      if (page === undefined) break;
      await this.removeBatch(page.segment.blobItems.map((b) => b.name));
      marker = page.continuationToken === '' ? undefined : page.continuationToken;
    } while (marker !== undefined);
  }

  async deleteObjects(keys: readonly string[]): Promise<void> {
    for (const key of keys) assertSafeKey(key);
    if (keys.length === 0) return;
    await this.ensureContainer();
    const names = keys.map((key) => this.objectName(key));
    for (let i = 0; i < names.length; i += BATCH_LIMIT) {
      await this.removeBatch(names.slice(i, i + BATCH_LIMIT));
    }
  }

  /**
   * Nothing to remove, and nothing that could be: a write cut off by a crash leaves only
   * uncommitted blocks, which no reader sees, which Azure offers no call to delete (committing
   * an empty list would replace a stored blob of the same name), and which it discards itself a
   * week after they were staged, or when the blob is next committed.
   */
  sweepAbandonedWrites(): Promise<number> {
    return Promise.resolve(0);
  }

  uri(key: string): string {
    const { container, account } = this.settings;
    return `wasbs://${container}@${account}.blob.core.windows.net/${this.objectName(key)}`;
  }

  /** An authenticated listing of one blob; creates the container when it is missing. */
  async ping(): Promise<void> {
    if (await this.containerExists('ping')) {
      this.containerReady = true;
      return;
    }
    this.containerReady = false;
    await this.ensureContainer();
  }

  /**
   * Whether the container exists, by listing one blob: a container-scoped SAS may list blobs
   * but not read the container's properties.
   */
  private containerExists(what: string): Promise<boolean> {
    return this.call(
      what,
      async (abortSignal) => {
        await this.container.listBlobsFlat({ abortSignal }).byPage({ maxPageSize: 1 }).next();
        return true;
      },
      { timeoutMs: this.requestMs, retry: true, containerMissing: () => false },
    );
  }

  private objectName(key: string): string {
    return this.prefix + key;
  }

  /** Makes sure the container exists, once; a failure is not remembered. */
  private ensureContainer(): Promise<void> {
    if (this.containerReady) return Promise.resolve();
    this.containerPending ??= this.createContainerIfMissing().then(
      () => {
        this.containerReady = true;
        this.containerPending = undefined;
      },
      (err: unknown) => {
        this.containerPending = undefined;
        throw err;
      },
    );
    return this.containerPending;
  }

  private async createContainerIfMissing(): Promise<void> {
    // Looked for first: a SAS scoped to the container may use it but not create it.
    if (await this.containerExists('check container')) return;
    let created: boolean;
    try {
      created = await this.call(
        'create container',
        async (abortSignal) => (await this.container.createIfNotExists({ abortSignal })).succeeded,
        { timeoutMs: this.requestMs, retry: true },
      );
    } catch (err) {
      if (err instanceof RegistryError) throw err;
      // Without its container the store is of no use to us, whatever the reason.
      this.logger.error(
        { err: describeCause(err), container: this.settings.container },
        'could not create the artifact container; answering 503',
      );
      throw RegistryError.unavailable('object store');
    }
    if (created) {
      this.logger.log({ container: this.settings.container }, 'created the artifact container');
    }
  }

  /** One blob batch of Delete Blob; blobs already gone are fine. */
  private async removeBatch(names: string[]): Promise<void> {
    if (names.length === 0) return;
    const batch = new BlobBatch();
    for (const name of names) await batch.deleteBlob(this.container.getBlobClient(name));
    const result = await this.call(
      'delete objects',
      (abortSignal) => this.container.getBlobBatchClient().submitBatch(batch, { abortSignal }),
      // Deleting is idempotent.
      { timeoutMs: this.requestMs, retry: true },
    );
    const failed = result.subResponses.filter(
      (r) => r.status >= 300 && r.status !== 404 && r.errorCode !== 'BlobNotFound',
    );
    if (failed.length > 0) {
      const first = failed[0];
      const err = Object.assign(
        new Error(`${failed.length} deletions failed, e.g. ${first.status} ${first.errorCode}`),
        { statusCode: first.status, details: { errorCode: first.errorCode } },
      );
      throw this.translate('delete objects', err);
    }
  }

  /**
   * Runs one call to the store under an AbortSignal of `timeoutMs`. Missing blobs go to
   * `notFound` and a missing container to `containerMissing` when given (else 503, and the next
   * call creates it); idempotent calls (`retry`) get one more attempt after a reset
   * connection; failures are translated.
   */
  private async call<T>(
    what: string,
    fn: (signal: AbortSignal) => Promise<T>,
    options: {
      timeoutMs: number;
      retry?: boolean;
      notFound?: () => T;
      containerMissing?: () => T;
    },
  ): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      const controller = new AbortController();
      const timer = setTimeout(
        () => controller.abort(new AzureTimeoutError(options.timeoutMs, what)),
        options.timeoutMs,
      );
      try {
        // Raced with the timer as well: not every step of a call heeds the signal (asking
        // DefaultAzureCredential for a token retries on its own schedule).
        return await untilAborted(fn(controller.signal), controller.signal, () => undefined);
      } catch (err) {
        if (isContainerMissing(err)) {
          this.containerReady = false;
          if (options.containerMissing !== undefined) return options.containerMissing();
        }
        if (options.notFound !== undefined && isMissing(err) && !isContainerMissing(err)) {
          return options.notFound();
        }
        if (options.retry && attempt === 1 && isResetConnection(err)) continue;
        throw this.translate(what, err);
      } finally {
        clearTimeout(timer);
      }
    }
  }

  private translate(what: string, err: unknown): unknown {
    return translate(this.logger, this.settings.container, what, err);
  }
}

/** `work`, or the signal's reason once it aborts (after `onAbort`), whichever comes first. */
function untilAborted<T>(work: Promise<T>, signal: AbortSignal, onAbort: () => void): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const abort = (): void => {
      onAbort();
      reject(signal.reason as Error);
    };
    if (signal.aborted) return abort();
    signal.addEventListener('abort', abort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', abort));
  });
}
