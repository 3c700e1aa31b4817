import { Injectable, Logger } from '@nestjs/common';
import { createHash } from 'node:crypto';
import { ErrorCode } from '../common/errors/error-code';
import { RegistryError } from '../common/errors/registry-error';
import type { Db } from '../database/database';
import type { ParamValue } from '../mlflow/registry-types';
import { ObjectStorage } from '../storage/object-storage';
import {
  ArtifactFileName,
  artifactPrefix,
  isModelFile,
  keyOf,
  versionPrefix,
} from './artifact-files';
import { ArtifactRow, ArtifactsRepository, filesOf, StoredFile } from './artifacts.repository';
import { artifactNotFound } from './artifacts.service';
import { parseConfigDocument, parseMetricsDocument } from './metadata-documents';

/** A claim without a version for this long is taken to be abandoned (see reserve()). */
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

/** An artifact reserved for one registration. */
export interface Reservation {
  artifact: ArtifactRow;
  /**
   * The model a registration that died (or failed ambiguously) had reserved it for, when this
   * one took its stale claim over: that registration may have created its version after all.
   */
  resumedFrom: string | null;
}

/** The version a registration created, as far as the artifact needs to know it. */
export interface PlacedVersion {
  name: string;
  version: number;
  /** The URI the version was created with (its model file). */
  source: string;
}

/**
 * An artifact's part in a registration, in the registration's own terms: reserve it for a model,
 * read its metrics and hyperparameters, place its files under the version (the source the
 * version is created with), then commit (link it to the version) or roll back (remove the
 * placement, give the reservation up). The registration use case drives these; how an artifact
 * is claimed, where its files go and what a claim's staleness means stay here.
 */
@Injectable()
export class ArtifactPlacement {
  private readonly logger = new Logger(ArtifactPlacement.name);

  constructor(
    private readonly repository: ArtifactsRepository,
    private readonly storage: ObjectStorage,
  ) {}

  /**
   * Reserves the tenant's artifact for one registration of `model`: 404 if it is not a ready
   * upload of the tenant, 409 if a version already uses it, or if another registration holds it.
   * A claim older than CLAIM_STALE_MS without a version belongs to a registration that died or
   * failed ambiguously; it is taken over (`resumedFrom`). The claim is a compare-and-set on the
   * artifact as just read: should it change in between, the reservation is refused as taken.
   */
  async reserve(tenant: string, artifactId: string, model: string): Promise<Reservation> {
    const artifact = await this.repository.findReady(tenant, artifactId);
    if (!artifact) throw artifactNotFound(artifactId);
    const now = Date.now();
    if (artifact.model_version !== null) throw alreadyRegistered(artifact);
    const held =
      artifact.model_name !== null && Number(artifact.claimed_at ?? 0) > now - CLAIM_STALE_MS;
    if (held || !(await this.repository.claim(artifact.id, artifact, model, now))) {
      throw new RegistryError(
        ErrorCode.ArtifactAlreadyRegistered,
        `artifact '${artifact.id}' is being registered by another request; retry in a few minutes if it fails`,
        { model: artifact.model_name, version: null },
      );
    }
    return { artifact, resumedFrom: artifact.model_name };
  }

  /** Gives the reservation up, after a registration that failed for sure. */
  rollBack(artifact: ArtifactRow, model: string): Promise<void> {
    return this.repository.release(artifact.id, model);
  }

  /** metrics.json of an artifact, checked against its recorded digest; null when absent. */
  async readMetrics(artifact: ArtifactRow): Promise<Record<string, number> | null> {
    const bytes = await this.readVerified(artifact, 'metrics.json');
    return bytes ? parseMetricsDocument(bytes) : null;
  }

  /** config.json's hyperparameters, checked against the recorded digest; null when absent. */
  async readHyperparameters(artifact: ArtifactRow): Promise<Record<string, ParamValue> | null> {
    const bytes = await this.readVerified(artifact, 'config.json');
    return bytes ? parseConfigDocument(bytes).hyperparameters : null;
  }

  /**
   * Copies the artifact's files (server-side) to where `model` version `version` keeps them,
   * `<tenant>/<model>/v<version>/`, and returns the URI of the model file there: the source
   * the version is created with. The upload's own copy stays until the registration commits.
   * The files are copied at once (a failure leaves what was copied for removePlacement()).
   */
  async placeUnder(artifact: ArtifactRow, model: string, version: number): Promise<string> {
    const to = versionPrefix(artifact.tenant_id, model, version);
    const copies = await Promise.allSettled(
      filesOf(artifact).map((file) =>
        this.storage.copy(keyOf(artifact, file.name), to + file.name, file.size),
      ),
    );
    const failed = copies.find((c): c is PromiseRejectedResult => c.status === 'rejected');
    if (failed !== undefined) throw failed.reason;
    return this.storage.uri(to + modelFile(artifact).name);
  }

  /** Removes what placeUnder() copied, for a version that was surely not created. */
  async removePlacement(artifact: ArtifactRow, model: string, version: number): Promise<void> {
    await this.storage.deletePrefix(versionPrefix(artifact.tenant_id, model, version));
  }

  /**
   * Links the artifact to the version it backs, in `db` (the registration's transaction); false
   * when it already was (by a concurrent completion). Its files are where the version's source
   * points: under the version when placed there, else where uploaded.
   */
  commit(artifact: ArtifactRow, version: PlacedVersion, db: Db): Promise<boolean> {
    return this.repository.markRegistered(
      artifact.id,
      version.name,
      version.version,
      Date.now(),
      this.placementOf(artifact, version),
      db,
    );
  }

  /**
   * After the commit, the upload's copy of files now placed under their version goes. Its keys
   * are known (an upload is ready only with every file it stored recorded), so one batch
   * deletion does it, without listing the prefix first. A failure is only logged: nothing points
   * at that copy any more, and deleting the version later removes it too.
   */
  async dropUploadCopy(artifact: ArtifactRow, version: PlacedVersion): Promise<void> {
    if (this.placementOf(artifact, version) === null) return;
    const prefix = artifactPrefix(artifact.tenant_id, artifact.id);
    try {
      await this.storage.deleteObjects(filesOf(artifact).map((file) => prefix + file.name));
    } catch (err) {
      this.logger.warn({ err, artifactId: artifact.id }, 'could not remove the upload copy');
    }
  }

  /**
   * The prefix a version's source points into, when it is a placeUnder() of this artifact (the
   * source is the truth: a registration resumed after a crash reads it back from there);
   * null when the source is the upload location itself.
   */
  private placementOf(artifact: ArtifactRow, version: PlacedVersion): string | null {
    const match = /\/v(\d+)\/[^/]+$/.exec(version.source);
    if (!match) return null;
    const prefix = versionPrefix(artifact.tenant_id, version.name, Number(match[1]));
    return this.storage.uri(prefix + modelFile(artifact).name) === version.source ? prefix : null;
  }

  private async readVerified(row: ArtifactRow, file: ArtifactFileName): Promise<Buffer | null> {
    const entry = filesOf(row).find((f) => f.name === file);
    if (!entry) return null;
    const stream = await this.storage.get(keyOf(row, file));
    const chunks: Buffer[] = [];
    for await (const chunk of stream) chunks.push(chunk as Buffer);
    const bytes = Buffer.concat(chunks);
    const digest = createHash('sha256').update(bytes).digest('hex');
    if (digest !== entry.sha256) {
      throw new Error(`artifact ${row.id} ${file}: stored bytes do not match the recorded SHA-256`);
    }
    return bytes;
  }
}

/** The model file of an artifact: what a registered version points to. */
function modelFile(row: ArtifactRow): StoredFile {
  const model = filesOf(row).find((f) => isModelFile(f.name));
  if (!model) throw new Error(`artifact ${row.id} has no model file`);
  return model;
}
