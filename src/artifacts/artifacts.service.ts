import { Injectable, Logger, OnApplicationBootstrap, OnModuleInit } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import type { Caller } from '../common/auth/caller.decorator';
import { ErrorCode } from '../common/errors/error-code';
import { RegistryError } from '../common/errors/registry-error';
import { AppConfig } from '../config/app-config';
import { IdempotencyHooks } from '../idempotency/idempotency-hooks';
import { Database } from '../database/database';
import { ByteRange, ObjectStorage } from '../storage/object-storage';
import { closeAfterAnswer } from '../common/http/request-deadline';
import { iso } from '../common/time';
import { ArtifactFileName, artifactPrefix, contentTypeOf, keyOf } from './artifact-files';
import { ArtifactRow, ArtifactsRepository, filesOf, StoredFile } from './artifacts.repository';
import type { ArtifactManifestDto } from './dto/artifact-manifest.dto';
import { ArtifactReceiver } from './multipart/artifact-receiver';
import { artifactUploadedEvent, EventOutbox } from '../events';

const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567';
/**
 * An upload still 'uploading' after this long was cut off by a crash (a live 10 GiB upload at
 * a slow 150 kB/s still ends within it); its bytes are swept.
 */
export const STALE_UPLOAD_MS = 24 * 60 * 60 * 1000;

export function newArtifactId(): string {
  const bytes = randomBytes(10);
  let bits = 0;
  let value = 0;
  let out = '';
  for (const byte of bytes) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += BASE32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  return `model-${out}`;
}

/** A file of an artifact, as recorded: enough to answer a download before reading a byte. */
export interface ArtifactFile {
  name: ArtifactFileName;
  size: number;
  sha256: string;
  contentType: string;
  /** Where its bytes are in the object store. */
  key: string;
}

export function artifactNotFound(id: string): RegistryError {
  return new RegistryError(ErrorCode.ArtifactNotFound, `artifact '${id}' does not exist`);
}

@Injectable()
export class ArtifactsService implements OnModuleInit, OnApplicationBootstrap {
  private readonly logger = new Logger(ArtifactsService.name);
  /** Uploads this process is writing: never swept, however long they take. */
  private readonly uploading = new Set<string>();

  constructor(
    private readonly repository: ArtifactsRepository,
    private readonly storage: ObjectStorage,
    private readonly config: AppConfig,
    private readonly database: Database,
    private readonly idempotency: IdempotencyHooks,
  ) {}

  /** A repeated idempotent upload is received, compared, then discarded by us. */
  onModuleInit(): void {
    this.idempotency.onUploadReplayed((id) => this.discardUpload(id));
  }

  /**
   * Receives an upload whose headers the controller accepted (multipart, a size that fits).
   * `answer` is the request's response: a body refused half-way is drained until it is written.
   */
  async upload(
    req: IncomingMessage,
    caller: Caller,
    answer?: ServerResponse,
  ): Promise<ArtifactManifestDto> {
    const id = newArtifactId();
    const createdAt = Date.now();
    const prefix = artifactPrefix(caller.tenant, id);
    // Recorded before any byte is written, so a crash mid-upload leaves a row to sweep, not
    // anonymous bytes.
    try {
      await this.repository.insertUploading(id, caller.tenant, caller.principal.subject, createdAt);
    } catch (err) {
      // Not a byte of the body was read: not worth reading it now.
      if (answer !== undefined) closeAfterAnswer(answer);
      throw err;
    }
    this.uploading.add(id);
    let files: StoredFile[];
    let manifest: ArtifactManifestDto;
    try {
      files = await new ArtifactReceiver(
        req,
        prefix,
        this.storage,
        {
          fileBytes: this.config.limits.artifactFileBytes,
          metadataBytes: this.config.limits.artifactMetadataBytes,
          modelFiles: this.config.modelFiles,
        },
        answer,
      ).receive();
      files.sort((a, b) => a.name.localeCompare(b.name));
      manifest = {
        artifact_id: id,
        files: files.map(({ name, size, sha256 }) => ({ name, size, sha256 })),
        created_at: iso(createdAt),
        created_by: caller.principal.subject,
        registered_as: null,
      };
      const uploaded = artifactUploadedEvent(caller.tenant, manifest);
      const ready = await this.database.transaction(async (trx) => {
        if (!(await this.repository.markReady(id, files, trx))) return false;
        await EventOutbox.record(trx, [uploaded]);
        return true;
      });
      if (!ready) throw new Error(`upload ${id} was removed while it was still being written`);
    } catch (err) {
      await this.discard(id, prefix);
      throw err;
    } finally {
      this.uploading.delete(id);
    }
    return manifest;
  }

  async manifest(tenant: string, id: string): Promise<ArtifactManifestDto> {
    return this.toManifest(await this.requireReady(tenant, id));
  }

  async requireReady(tenant: string, id: string): Promise<ArtifactRow> {
    const row = await this.repository.findReady(tenant, id);
    if (!row) throw artifactNotFound(id);
    return row;
  }

  /** A file of an artifact of the tenant: 404 when the artifact or the file does not exist. */
  async file(tenant: string, id: string, file: ArtifactFileName): Promise<ArtifactFile> {
    const row = await this.requireReady(tenant, id);
    const entry = filesOf(row).find((f) => f.name === file);
    if (!entry) {
      throw new RegistryError(
        ErrorCode.ArtifactFileNotFound,
        `artifact '${id}' has no file ${file}`,
      );
    }
    return {
      name: entry.name,
      size: entry.size,
      sha256: entry.sha256,
      contentType: contentTypeOf(file),
      key: keyOf(row, file),
    };
  }

  /** The file's bytes, or those of `range` (inclusive, inside its size) with a ranged read. */
  read(file: ArtifactFile, range?: ByteRange): Promise<Readable> {
    return this.storage.get(file.key, range);
  }

  /** Deletes the bytes and records of the artifacts registered to a model (or one version). */
  async deleteRegistered(tenant: string, model: string, version?: number): Promise<void> {
    for (const row of await this.repository.registeredTo(tenant, model, version)) {
      if (row.location !== null) await this.storage.deletePrefix(row.location);
      await this.discard(row.id, artifactPrefix(tenant, row.id));
    }
  }

  /**
   * Before the service listens, with the database to this process alone (SQLite): a claim
   * without a version was left by a registration of a process that died (none of this one's
   * has started), so it is made stale now instead of answering 409 for two minutes. It is
   * not dropped: the next registration of the artifact takes it over, and like every takeover
   * first looks for the version the dead one may have created. Replicas on PostgreSQL cannot
   * tell a dead registration from another replica's live one: their claims wait to grow stale.
   */
  async onApplicationBootstrap(): Promise<void> {
    if (!this.database.singleProcess) return;
    const expired = await this.repository.expireClaims();
    if (expired > 0) {
      this.logger.warn(`${expired} registration(s) of a stopped process can be retried at once`);
    }
  }

  /** Removes uploads that a crash cut off, older than `olderThanMs` (see ArtifactSweeper). */
  async sweepUnfinishedUploads(olderThanMs = STALE_UPLOAD_MS): Promise<number> {
    let removed = 0;
    try {
      for (const row of await this.repository.staleUploads(Date.now() - olderThanMs)) {
        if (this.uploading.has(row.id)) continue;
        await this.discard(row.id, artifactPrefix(row.tenant_id, row.id));
        this.logger.warn(`removed the unfinished upload ${row.id}`);
        removed++;
      }
    } catch (err) {
      this.logger.error({ err }, 'sweeping unfinished uploads failed');
    }
    return removed;
  }

  /**
   * Removes a fresh upload nothing refers to (a repeated idempotent upload), from where it was
   * stored: the tenant it went into (an admin's `?tenant_id=`), not the caller's own.
   */
  async discardUpload(id: string): Promise<void> {
    const tenant = await this.repository.tenantOf(id);
    if (tenant !== undefined) await this.discard(id, artifactPrefix(tenant, id));
  }

  private async discard(id: string, prefix: string): Promise<void> {
    try {
      await this.storage.deletePrefix(prefix);
      await this.repository.delete(id);
    } catch (err) {
      // The row stays 'uploading' (or registered) and the sweep retries; nothing points at it.
      this.logger.error({ err, artifactId: id }, 'could not remove artifact files');
    }
  }

  private toManifest(row: ArtifactRow): ArtifactManifestDto {
    return {
      artifact_id: row.id,
      files: filesOf(row).map(({ name, size, sha256 }) => ({ name, size, sha256 })),
      created_at: iso(Number(row.created_at)),
      created_by: row.created_by,
      registered_as:
        row.model_name !== null && row.model_version !== null
          ? { model: row.model_name, version: row.model_version }
          : null,
    };
  }
}
