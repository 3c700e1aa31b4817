import { Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { Interval } from '@nestjs/schedule';
import { AppConfig } from '../config/app-config';
import { Database } from '../database/database';
import { ObjectStorage } from '../storage/object-storage';
import { ArtifactsService, STALE_UPLOAD_MS } from './artifacts.service';

const SWEEP_INTERVAL_MS = 60 * 60 * 1000;
/**
 * A temporary file or multipart upload untouched for this long belongs to a write that died:
 * the same bound as an unfinished upload's (a live write of one file ends well within it).
 */
const STALE_WRITE_MS = STALE_UPLOAD_MS;

/**
 * Removes what a crash left of artifact writes, at start and then every hour: unfinished
 * uploads (their records and bytes), and the store's own leftovers of writes cut off in the
 * middle (a filesystem's `*.partial-*` files, e.g. under `<tenant>/<model>/v<N>/` when a
 * registration was killed while copying; S3's incomplete multipart uploads).
 *
 * How old a leftover must be is decided here, from the deployment: on SQLite one process owns
 * DATA_DIR (`Database.singleProcess`), so at start everything unfinished in it is dead and goes
 * at once; replicas sharing PostgreSQL cannot tell a dead write from another replica's live one,
 * and wait for a day. An S3 bucket may have other writers even then (MLflow's artifact root),
 * so its multipart uploads are always given a day.
 */
@Injectable()
export class ArtifactSweeper implements OnApplicationBootstrap {
  private readonly logger = new Logger(ArtifactSweeper.name);
  private running?: Promise<void>;

  constructor(
    private readonly artifacts: ArtifactsService,
    private readonly storage: ObjectStorage,
    private readonly database: Database,
    private readonly config: AppConfig,
  ) {}

  /**
   * Not awaited, so a large store does not hold up the start: the uploads and writes this
   * process begins meanwhile are its own, and every sweep spares those.
   */
  onApplicationBootstrap(): void {
    const alone = this.database.singleProcess;
    const storeInDataDir = this.config.s3 === undefined && this.config.azure === undefined;
    void this.sweep(alone ? 0 : STALE_UPLOAD_MS, alone && storeInDataDir ? 0 : STALE_WRITE_MS);
  }

  /** Then hourly, everything a day old. */
  @Interval('artifact-sweep', SWEEP_INTERVAL_MS)
  hourly(): Promise<void> {
    return this.sweep(STALE_UPLOAD_MS, STALE_WRITE_MS);
  }

  /** One sweep at a time: a slow walk of a large store is not started twice. */
  sweep(uploadsOlderThanMs: number, writesOlderThanMs: number): Promise<void> {
    this.running ??= this.sweepOnce(uploadsOlderThanMs, writesOlderThanMs).finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async sweepOnce(uploadsOlderThanMs: number, writesOlderThanMs: number): Promise<void> {
    await this.artifacts.sweepUnfinishedUploads(uploadsOlderThanMs);
    try {
      const removed = await this.storage.sweepAbandonedWrites(writesOlderThanMs);
      if (removed > 0) this.logger.warn(`removed ${removed} write(s) a crash cut off`);
    } catch (err) {
      // Harmless where they are (never read); the next sweep tries again.
      this.logger.error({ err }, 'sweeping abandoned writes failed');
    }
  }
}
