import { DefaultAzureCredential } from '@azure/identity';
import {
  AnonymousCredential,
  ContainerClient,
  newPipeline,
  StorageSharedKeyCredential,
} from '@azure/storage-blob';
import { PassThrough, type Readable } from 'node:stream';
import type { AzureSettings } from '../../config/azure-settings';

/** The bounds on waiting, in ms (see `AzureStorageOptions` for what each covers). */
export interface Timeouts {
  requestMs: number;
  transferMs: number;
  copyMs: number;
}

export class AzureTimeoutError extends Error {
  readonly code = 'ETIMEDOUT';
  constructor(ms: number, what: string) {
    super(`no answer from Azure Blob Storage for ${ms} ms (${what})`);
    this.name = 'AzureTimeoutError';
  }
}

/**
 * The container client for `settings`, signed with the credential they name. The SDK's own
 * retries are off (one try): they would wait seconds between attempts and resend uploads the
 * service may have given up on; the storage retries idempotent calls once itself. Building it
 * calls nothing (DefaultAzureCredential asks for a token on the first request).
 */
export function connectAzure(settings: AzureSettings): ContainerClient {
  const url = `${settings.endpoint}/${settings.container}`;
  const options = { retryOptions: { maxTries: 1 }, keepAliveOptions: { enable: true } };
  switch (settings.credential.kind) {
    case 'shared-key':
      return new ContainerClient(
        url,
        newPipeline(
          new StorageSharedKeyCredential(settings.account, settings.credential.accountKey),
          options,
        ),
      );
    case 'sas':
      // The SAS rides on every URL the client makes from this one (blobs, batches, copies).
      return new ContainerClient(
        `${url}?${settings.credential.token}`,
        newPipeline(new AnonymousCredential(), options),
      );
    case 'default':
      return new ContainerClient(url, newPipeline(new DefaultAzureCredential(), options));
  }
}

/**
 * `source` passed on through a stream that fails with an AzureTimeoutError when no byte has come
 * for `idleMs`, whether Azure went silent or the reader stopped reading (the source is then
 * destroyed, which closes its connection). Not a limit on the total time.
 */
export function idleGuarded(source: Readable, idleMs: number, what: string): Readable {
  const out = new PassThrough();
  let timer: NodeJS.Timeout | undefined;
  const stop = (): void => {
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
  };
  const arm = (): void => {
    stop();
    timer = setTimeout(() => {
      const err = new AzureTimeoutError(idleMs, what);
      source.destroy(err);
      out.destroy(err);
    }, idleMs);
    timer.unref();
  };
  source.on('data', (chunk: Buffer) => {
    arm();
    if (!out.write(chunk)) source.pause();
  });
  out.on('drain', () => source.resume());
  source.once('end', () => {
    stop();
    out.end();
  });
  source.once('error', (err) => {
    stop();
    out.destroy(err);
  });
  out.once('close', () => {
    stop();
    if (!source.destroyed) source.destroy();
  });
  arm();
  return out;
}
