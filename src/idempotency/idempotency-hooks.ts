import { Injectable } from '@nestjs/common';

/**
 * What idempotency cannot do itself, offered by the features it serves (registered at their
 * start, so this module imports none of them). An upload's body can only be compared once
 * received, so a repeated upload is stored, compared by its files, and then discarded: by the
 * feature that stored it.
 */
@Injectable()
export class IdempotencyHooks {
  private discard?: (artifactId: string) => Promise<void>;

  /** How to remove an upload a replay received again (the artifacts feature registers it). */
  onUploadReplayed(discard: (artifactId: string) => Promise<void>): void {
    this.discard = discard;
  }

  discardReplayedUpload(artifactId: string): Promise<void> {
    if (this.discard === undefined) {
      return Promise.reject(new Error('no feature registered how to discard a replayed upload'));
    }
    return this.discard(artifactId);
  }
}
