import type { BlockBlobClient, ContainerClient } from '@azure/storage-blob';
import { createHash, randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import { streamParts } from '../stream-parts';

/**
 * Runs one call to the store with the storage's error translation: `signal` is aborted after
 * `timeoutMs`; `retry` for idempotent calls.
 */
export type StoreCall = <T>(
  what: string,
  fn: (signal: AbortSignal) => Promise<T>,
  options: { timeoutMs: number; retry?: boolean },
) => Promise<T>;

export interface BlockLimits {
  /** Block size: the memory an upload holds is two blocks. */
  blockSize: number;
  /** Time limit for sending one block (or a single-shot body) and its answer. */
  transferMs: number;
  /** Time limit for committing the block list (Azure assembles the blob meanwhile). */
  commitMs: number;
}

/**
 * The Azure storage's streamed uploads: one Put Blob for a body of at most one block, else
 * Put Block (`stageBlock`) per `blockSize` bytes with at most one block in flight while the next
 * one is read, then Put Block List (`commitBlockList`). Until that commit nothing is visible at
 * the name and a previous blob there is untouched; a source or store failure before it commits
 * nothing. Azure has no call to drop staged blocks: those of a failed upload stay uncommitted
 * (invisible, billed) until the blob is next committed or Azure discards them after a week.
 *
 * Block ids carry a random nonce per upload, so two uploads of one name never commit each other's
 * blocks (the service's keys are unique per artifact anyway; Azure keeps one uncommitted list per
 * blob, which the first commit discards, so the slower of two such uploads fails, never mixes).
 */
export class AzureBlockWriter {
  constructor(
    private readonly container: ContainerClient,
    private readonly limits: BlockLimits,
    private readonly call: StoreCall,
  ) {}

  async upload(name: string, body: Readable, contentType?: string): Promise<{ size: number }> {
    const blob = this.container.getBlockBlobClient(name);
    const blobHTTPHeaders = contentType !== undefined ? { blobContentType: contentType } : {};
    const nonce = randomBytes(12).toString('hex');
    // Same length for every id of a blob, as Azure requires: nonce + 6-digit block number.
    const blockId = (n: number): string =>
      Buffer.from(`${nonce}-${String(n).padStart(6, '0')}`).toString('base64');
    // Ids are taken in the order the blocks are cut (send is called in that order).
    const ids: string[] = [];
    try {
      const { size, rest } = await streamParts(body, this.limits.blockSize, (bytes) => {
        const id = blockId(ids.length);
        ids.push(id);
        return this.stage(blob, id, bytes);
      });
      if (ids.length === 0) {
        await this.call(
          'put',
          (abortSignal) => blob.upload(rest, rest.length, { blobHTTPHeaders, abortSignal }),
          { timeoutMs: this.limits.transferMs, retry: true },
        );
        return { size };
      }
      const last = blockId(ids.length);
      ids.push(last);
      await this.stage(blob, last, rest);
      await this.call(
        'commit block list',
        (abortSignal) => blob.commitBlockList(ids, { blobHTTPHeaders, abortSignal }),
        // Committing the same list twice gives the same blob: idempotent.
        { timeoutMs: this.limits.commitMs, retry: true },
      );
      return { size };
    } catch (err) {
      if (!body.destroyed) body.destroy();
      throw err;
    }
  }

  private async stage(blob: BlockBlobClient, id: string, bytes: Buffer): Promise<void> {
    await this.call(
      'stage block',
      (abortSignal) =>
        blob.stageBlock(id, bytes, bytes.length, {
          transactionalContentMD5: md5(bytes),
          abortSignal,
        }),
      { timeoutMs: this.limits.transferMs, retry: true },
    );
  }
}

function md5(bytes: Buffer): Uint8Array {
  return createHash('md5').update(bytes).digest();
}
