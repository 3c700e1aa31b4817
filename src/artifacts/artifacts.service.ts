import { Injectable, Logger, OnApplicationBootstrap, OnModuleInit } from '@nestjs/common';
import { createHash, randomBytes } from 'node:crypto';
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';
import type { Caller } from '../common/auth/caller.decorator';
import { ErrorCode } from '../common/errors/error-code';
import { RegistryError } from '../common/errors/registry-error';
import { AppConfig } from '../config/app-config';
import { IdempotencyHooks } from '../idempotency/idempotency-hooks';
import type { ParamValue } from '../mlflow/registry-types';
import { Database, type Db } from '../database/database';
import { ByteRange, ObjectStorage } from '../storage/object-storage';
import { iso } from '../versions/version.mapper';
import { ArtifactFileName, artifactPrefix, contentTypeOf, versionPrefix } from './artifact-files';
import { ArtifactRow, ArtifactsRepository, filesOf, StoredFile } from './artifacts.repository';
import type { ArtifactManifestDto } from './dto/artifact-manifest.dto';
import { parseConfigDocument, parseMetricsDocument } from './metadata-documents';
import { receiveArtifact } from './multipart-receiver';

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

/** A claim without a version for this long is taken to be abandoned (see claim()). */
const CLAIM_STALE_MS = 2 * 60 * 1000;

export function alreadyRegistered(row: {
  id: string;
  model_name: string | null;
  model_version: number | null;
}): RegistryError {
  return new RegistryError(
    ErrorCode.ArtifactAlreadyRegistered,
    `artifact '${row.id}' is already registered as ${row.model_name ?? '?'} version ${row.model_version ?? '?'}`,
    { model: row.model_name, version: row.model_version },
  );
}

function artifactNotFound(id: string): RegistryError {
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
   * Refuses an upload by its headers alone, before a byte of it is read: 415 unless it is
   * multipart/form-data, 413 when its Content-Length is more than a well-formed upload can weigh
   * (every part at its limit, plus multipart framing).
   */
  checkUploadHeaders(headers: IncomingHttpHeaders): void {
    if (!/^multipart\/form-data\b/i.test(headers['content-type'] ?? '')) {
      throw new RegistryError(
        ErrorCode.UnsupportedMediaType,
        'Content-Type must be multipart/form-data',
      );
    }
    const { artifactFileBytes, artifactMetadataBytes } = this.config.limits;
    const maxRequestBytes = 2 * artifactFileBytes + 3 * artifactMetadataBytes + 64 * 1024;
    const declared = Number(headers['content-length'] ?? NaN);
    if (Number.isFinite(declared) && declared > maxRequestBytes) {
      throw new RegistryError(
        ErrorCode.PayloadTooLarge,
        `upload is larger than the limit of ${maxRequestBytes} bytes`,
      );
    }
  }

  /** Receives an upload that passed `checkUploadHeaders`. */
  async upload(req: IncomingMessage, caller: Caller): Promise<ArtifactManifestDto> {
    const id = newArtifactId();
    const createdAt = Date.now();
    const prefix = artifactPrefix(caller.tenant, id);
    // Recorded before any byte is written, so a crash mid-upload leaves a row to sweep, not
    // anonymous bytes.
    await this.repository.insertUploading(id, caller.tenant, caller.principal.subject, createdAt);
    this.uploading.add(id);
    let files: StoredFile[];
    try {
      files = await receiveArtifact(req, prefix, this.storage, {
        fileBytes: this.config.limits.artifactFileBytes,
        metadataBytes: this.config.limits.artifactMetadataBytes,
      });
      files.sort((a, b) => a.name.localeCompare(b.name));
      if (!(await this.repository.markReady(id, files))) {
        throw new Error(`upload ${id} was removed while it was still being written`);
      }
    } catch (err) {
      await this.discard(id, prefix);
      throw err;
    } finally {
      this.uploading.delete(id);
    }
    return {
      artifact_id: id,
      files: files.map(({ name, size, sha256 }) => ({ name, size, sha256 })),
      created_at: iso(createdAt),
      created_by: caller.principal.subject,
      registered_as: null,
    };
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
      key: this.keyOf(row, file),
    };
  }

  /** The file's bytes, or those of `range` (inclusive, inside its size) with a ranged read. */
  read(file: ArtifactFile, range?: ByteRange): Promise<Readable> {
    return this.storage.get(file.key, range);
  }

  /** The model file of an artifact: what a registered version points to. */
  modelFile(row: ArtifactRow): StoredFile {
    const model = filesOf(row).find((f) => f.name === 'model.pkl' || f.name === 'model.pt');
    if (!model) throw new Error(`artifact ${row.id} has no model file`);
    return model;
  }

  /** Where the artifact's files are: under its version once registered, else where uploaded. */
  prefixOf(row: ArtifactRow): string {
    return row.location ?? artifactPrefix(row.tenant_id, row.id);
  }

  private keyOf(row: ArtifactRow, file: ArtifactFileName): string {
    return `${this.prefixOf(row)}${file}`;
  }

  /**
   * Copies the artifact's files (server-side) to where `model` version `version` keeps them,
   * `<tenant>/<model>/v<version>/`, and returns the URI of the model file there: the source
   * the version is created with. The upload's own copy stays until the registration completes.
   * The files are copied at once (a failure leaves what was copied for unplace() to remove).
   */
  async place(row: ArtifactRow, model: string, version: number): Promise<string> {
    const to = versionPrefix(row.tenant_id, model, version);
    const copies = await Promise.allSettled(
      filesOf(row).map((file) =>
        this.storage.copy(this.keyOf(row, file.name), to + file.name, file.size),
      ),
    );
    const failed = copies.find((c): c is PromiseRejectedResult => c.status === 'rejected');
    if (failed !== undefined) throw failed.reason;
    return this.storage.uri(to + this.modelFile(row).name);
  }

  /** Removes what place() copied, after a registration that failed for sure. */
  async unplace(row: ArtifactRow, model: string, version: number): Promise<void> {
    await this.storage.deletePrefix(versionPrefix(row.tenant_id, model, version));
  }

  /**
   * The prefix a version's source points into, when it is a place() of this artifact (the
   * source is the truth: a registration resumed after a crash reads it back from there);
   * null when the source is the upload location itself.
   */
  locationFor(row: ArtifactRow, model: string, source: string): string | null {
    const match = /\/v(\d+)\/[^/]+$/.exec(source);
    if (!match) return null;
    const prefix = versionPrefix(row.tenant_id, model, Number(match[1]));
    return this.storage.uri(prefix + this.modelFile(row).name) === source ? prefix : null;
  }

  /** metrics.json of an artifact, checked against its recorded digest; null when absent. */
  async readMetrics(row: ArtifactRow): Promise<Record<string, number> | null> {
    const bytes = await this.readVerified(row, 'metrics.json');
    return bytes ? parseMetricsDocument(bytes) : null;
  }

  /** config.json's hyperparameters, checked against the recorded digest; null when absent. */
  async readHyperparameters(row: ArtifactRow): Promise<Record<string, ParamValue> | null> {
    const bytes = await this.readVerified(row, 'config.json');
    return bytes ? parseConfigDocument(bytes).hyperparameters : null;
  }

  /**
   * Reserves the artifact for one registration of `model`: 409 if a version already uses it,
   * or if another registration holds it. A claim older than CLAIM_STALE_MS without a version
   * belongs to a registration that died or failed ambiguously; it is taken over, and
   * `resumedFrom` names the model it was for, so the caller can look for a version that
   * registration may have created after all. `current`: the artifact as just read (a
   * compare-and-set: should it have changed since, the claim is refused as taken).
   */
  async claim(current: ArtifactRow, model: string): Promise<{ resumedFrom: string | null }> {
    const now = Date.now();
    if (current.model_version !== null) throw alreadyRegistered(current);
    const held =
      current.model_name !== null && Number(current.claimed_at ?? 0) > now - CLAIM_STALE_MS;
    if (held || !(await this.repository.claim(current.id, current, model, now))) {
      throw new RegistryError(
        ErrorCode.ArtifactAlreadyRegistered,
        `artifact '${current.id}' is being registered by another request; retry in a few minutes if it fails`,
        { model: current.model_name, version: null },
      );
    }
    return { resumedFrom: current.model_name };
  }

  release(row: ArtifactRow, model: string): Promise<void> {
    return this.repository.release(row.id, model);
  }

  /**
   * Links the artifact to its version, its files now at `location` (null: where uploaded);
   * false when it already was (by a concurrent completion).
   */
  markRegistered(
    row: ArtifactRow,
    model: string,
    version: number,
    location: string | null,
    db?: Db,
  ): Promise<boolean> {
    return this.repository.markRegistered(row.id, model, version, Date.now(), location, db);
  }

  /**
   * After a registration moved the files under their version: drop the upload's copy. Its keys
   * are known (an upload is ready only with every file it stored recorded), so one batch
   * deletion does it, without listing the prefix first.
   */
  async dropUploadCopy(row: ArtifactRow): Promise<void> {
    const prefix = artifactPrefix(row.tenant_id, row.id);
    try {
      await this.storage.deleteObjects(filesOf(row).map((file) => prefix + file.name));
    } catch (err) {
      // Nothing points at it any more; deleting the version later removes it too.
      this.logger.warn({ err, artifactId: row.id }, 'could not remove the upload copy');
    }
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
   * has started), so it is made stale now instead of answering 409 for CLAIM_STALE_MS. It is
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

  private async readVerified(row: ArtifactRow, file: ArtifactFileName): Promise<Buffer | null> {
    const entry = filesOf(row).find((f) => f.name === file);
    if (!entry) return null;
    const stream = await this.storage.get(this.keyOf(row, file));
    const chunks: Buffer[] = [];
    for await (const chunk of stream) chunks.push(chunk as Buffer);
    const bytes = Buffer.concat(chunks);
    const digest = createHash('sha256').update(bytes).digest('hex');
    if (digest !== entry.sha256) {
      throw new Error(`artifact ${row.id} ${file}: stored bytes do not match the recorded SHA-256`);
    }
    return bytes;
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
