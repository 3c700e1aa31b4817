import { Injectable, Logger } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { alreadyRegistered, ArtifactPlacement } from '../../artifacts/artifact-placement';
import type { ArtifactRow } from '../../artifacts/artifacts.repository';
import { HistoryRepository } from '../../audit/history.repository';
import { HistoryEvent } from '../../database/schema';
import { MetadataCache } from '../../cache/metadata-cache';
import type { Caller } from '../../common/auth/caller.decorator';
import { ErrorCode } from '../../common/errors/error-code';
import { isRegistryError, RegistryError } from '../../common/errors/registry-error';
import { Database, type Db } from '../../database/database';
import { MlflowRegistry } from '../../mlflow/mlflow-registry';
import {
  Stage,
  type ModelVersionRecord,
  type RegisteredModelRecord,
  type RunRecord,
  type RunValues,
} from '../../mlflow/registry-types';
import type { VersionDto } from '../../versions/dto/version.dto';
import { mapVersion } from '../../versions/version.mapper';
import { SERVICE_TAGS } from '../../domain/service-tags';
import { VersionsService } from '../../versions/versions.service';
import { modelUid } from '../../domain/model-identity';
import type { RegisterModelDto } from '../dto/register-model.dto';
import { LockLease, ModelLock } from './model-lock';
import { RegistrationAttempt } from './registration-attempt';
import { EventOutbox, modelEvent, versionEvent, type NewEvent } from '../../events';
import { mapModelSummary } from '../model.mapper';

/** A new version, the model it was created in and its run (metrics, parameters). */
interface Created {
  record: ModelVersionRecord;
  model: RegisteredModelRecord;
  run: RunRecord;
}

/**
 * `POST /models`: registers an uploaded artifact as the next version of a model, as one use
 * case. Its steps (reserve the artifact, read its metrics, make the run, take the model's lock,
 * make the model if new, place the files under the version, create the version, commit the
 * artifact link with the history entry) and the undo of each, driven by one attempt journal.
 */
@Injectable()
export class RegisterModelVersion {
  private readonly logger = new Logger(RegisterModelVersion.name);

  constructor(
    private readonly backend: MlflowRegistry,
    private readonly versions: VersionsService,
    private readonly placement: ArtifactPlacement,
    private readonly history: HistoryRepository,
    private readonly cache: MetadataCache,
    private readonly database: Database,
    private readonly locks: ModelLock,
  ) {}

  /**
   * Registers an uploaded artifact as the next version of a model, creating the model if it is
   * new. Either everything is recorded (model, run, version, artifact link, history) or, on a
   * failure, what was created is removed again: no empty model, no version without bytes.
   * A failure that leaves it unknown whether the version was created (the backend timed out,
   * then cannot be asked) keeps the artifact claimed; the next registration of it after
   * CLAIM_STALE_MS looks for that version first and completes it instead of making another.
   */
  async execute(caller: Caller, dto: RegisterModelDto): Promise<VersionDto> {
    const { tenant } = caller;
    const { artifact, resumedFrom } = await this.placement.reserve(
      tenant,
      dto.artifact_id,
      dto.name,
    );
    if (resumedFrom !== null) {
      const earlier = await this.versionOfArtifact(tenant, resumedFrom, artifact.id);
      if (earlier !== undefined) {
        await this.complete(caller, artifact, earlier, dto.description);
        if (resumedFrom !== dto.name)
          throw alreadyRegistered({
            ...artifact,
            model_name: resumedFrom,
            model_version: earlier.version,
          });
        return this.versions.get(tenant, dto.name, earlier.version);
      }
    }

    const attempt = new RegistrationAttempt();
    let created: Created;
    try {
      // The metadata files are read while the run is created (MLflow needs them only to log
      // them into it); should the read fail, the run is deleted and the claim given up below.
      const values = this.runValues(dto, artifact);
      created = await this.createVersion(caller, dto, artifact, values, attempt);
    } catch (err) {
      // Did the version land anyway (a timeout after the backend committed)? If that cannot be
      // told now, nothing is undone and the claim stays for a later registration to resolve.
      // Not asked when the version was never requested (e.g. the metadata files failed).
      const landed = attempt.versionRequested
        ? await this.versionOfArtifact(tenant, dto.name, artifact.id).catch(() => null)
        : undefined;
      if (landed === null) throw err;
      if (landed === undefined) {
        await this.undo(artifact, dto.name, attempt);
        await this.placement.rollBack(artifact, dto.name);
        await this.cache.invalidateModel(tenant, dto.name);
        throw err;
      }
      await this.complete(caller, artifact, landed, dto.description);
      return this.versions.get(tenant, dto.name, landed.version);
    }
    // The version as the backend answered its creation and the run as this registration wrote
    // it: neither needs reading back.
    return mapVersion(created.record, created.run);
  }

  /**
   * The run's metrics and parameters: as given, else from the artifact's metrics.json and
   * config.json (read at once; a failure of the metrics file counts first).
   */
  private async runValues(dto: RegisterModelDto, artifact: ArtifactRow): Promise<RunValues> {
    const [readMetrics, readParams] = await Promise.allSettled([
      dto.metrics ?? this.placement.readMetrics(artifact),
      dto.parameters ?? this.placement.readHyperparameters(artifact),
    ]);
    if (readMetrics.status === 'rejected') throw readMetrics.reason;
    if (readParams.status === 'rejected') throw readParams.reason;
    return { metrics: readMetrics.value ?? {}, params: readParams.value ?? {} };
  }

  /**
   * Links the artifact to its version and records the registration, once. `uid`: the identity
   * of the model the version was created in, when the caller has it (else it is looked up).
   * `lease`: the registration lock still held, released in the same transaction.
   */
  private async complete(
    caller: Caller,
    artifact: ArtifactRow,
    record: ModelVersionRecord,
    description: string | undefined,
    uid?: string,
    lease?: LockLease,
    created?: Created & { modelCreated: boolean },
  ): Promise<void> {
    const { tenant } = caller;
    uid ??= await this.versions.getModelUid(tenant, record.name);
    const events = await this.registrationEvents(tenant, record, uid, created);
    // The registrant is the version's creator as its tags name them (this caller, or the one of
    // an earlier attempt this completes), with their own tenant; a version tagged before the
    // tenant was leaves it null, read as the entry's tenant.
    const creator = record.tags[SERVICE_TAGS.createdBy];
    const creatorTenant =
      creator === undefined
        ? caller.principal.tenantId
        : (record.tags[SERVICE_TAGS.createdByTenant] ?? null);
    const link = async (trx: Db): Promise<boolean> => {
      if (!(await this.placement.commit(artifact, record, trx))) return false;
      await this.history.append(
        [
          {
            tenant_id: tenant,
            model_name: record.name,
            model_uid: uid,
            version: record.version,
            event: HistoryEvent.Registered,
            from_stage: null,
            to_stage: Stage.None,
            actor: creator ?? caller.principal.subject,
            actor_tenant: creatorTenant,
            at: Date.now(),
            comment: description ?? null,
            approval_id: null,
            requested_by: null,
            requested_by_tenant: null,
            approved_by: null,
            approved_by_tenant: null,
          },
        ],
        trx,
      );
      await EventOutbox.record(trx, events);
      return true;
    };
    const linked = await (lease !== undefined
      ? lease.releaseWith(link)
      : this.database.transaction(link));
    if (linked) await this.placement.dropUploadCopy(artifact, record);
    await this.cache.invalidateModel(tenant, record.name);
  }

  /**
   * `model_version.created`, after `model.created` when the version is its model's first
   * registration (this attempt created the model, or, completing an earlier attempt, the
   * history holds no registration of this model yet).
   */
  private async registrationEvents(
    tenant: string,
    record: ModelVersionRecord,
    uid: string,
    created?: Created & { modelCreated: boolean },
  ): Promise<NewEvent[]> {
    const version = created
      ? mapVersion(record, created.run)
      : await this.versions.toDto(tenant, record);
    const events = [versionEvent('model_version.created', tenant, version)];
    const modelIsNew = created
      ? created.modelCreated
      : (await this.history.highestVersion(tenant, record.name, uid)) === 0;
    if (modelIsNew) {
      const model = created?.model ?? (await this.versions.getModelRecord(tenant, record.name));
      events.unshift(modelEvent('model.created', tenant, mapModelSummary(model)));
    }
    return events;
  }

  /**
   * Model (if new), run and version; records in `attempt` what it created, for an undo.
   *
   * The version's files go to `<tenant>/<model>/v<version>/` before the version is created
   * (its source cannot change afterwards, and must never point at missing bytes), so the
   * number is predicted — one registration per model at a time (ModelLock), the next number
   * after every one this model ever had (MLflow never reuses a deleted one; our history
   * remembers them). Should the backend number it differently anyway (versions made outside
   * this service), that version is given back and the registration tries the next number.
   *
   * The run (metrics, parameters) is made while the lock is taken, the model read and the
   * files placed, none of which needs it or shows anywhere until the version exists; a new
   * model is created only once the run is, so a refused run creates no model (as before).
   */
  private async createVersion(
    caller: Caller,
    dto: RegisterModelDto,
    artifact: ArtifactRow,
    values: Promise<RunValues>,
    attempt: RegistrationAttempt,
  ): Promise<Created> {
    const { tenant } = caller;
    const run = this.backend
      .createRun(tenant, values)
      .then((created) => attempt.runWasMade(created));
    try {
      // The registration is recorded before the lock is given up, in the transaction that
      // gives it up: one durable commit instead of two.
      return await this.locks.withLock(tenant, dto.name, async (lease) => {
        const created = await this.createVersionLocked(caller, dto, artifact, run, attempt);
        const { record, model } = created;
        await this.complete(caller, artifact, record, dto.description, modelUid(model), lease, {
          ...created,
          modelCreated: attempt.modelCreated,
        });
        return created;
      });
    } catch (err) {
      // Whatever failed, the run's outcome is known (and in `attempt`) before anything is undone.
      await run.catch(() => undefined);
      throw err;
    }
  }

  private async createVersionLocked(
    caller: Caller,
    dto: RegisterModelDto,
    artifact: ArtifactRow,
    run: Promise<RunRecord>,
    attempt: RegistrationAttempt,
  ): Promise<Created> {
    const { tenant } = caller;
    let floor = 0;
    for (let round = 1; ; round++) {
      const ensured = await this.ensureModel(tenant, dto.name, dto.description, run);
      if (ensured.created) attempt.modelWasCreated();
      const next = Math.max(floor, await this.highestVersion(tenant, ensured.model)) + 1;
      attempt.filesPlaced(next);
      const source = await this.placement.placeUnder(artifact, dto.name, next);
      const created = await run;
      const { runId } = created;
      let record: ModelVersionRecord;
      attempt.versionWasRequested();
      try {
        // The model was read (or created) just above, under the lock: no second look.
        record = await this.backend.createModelVersion(
          tenant,
          dto.name,
          {
            source,
            runId,
            description: dto.description,
            tags: {
              ...dto.tags,
              [SERVICE_TAGS.createdBy]: caller.principal.subject,
              [SERVICE_TAGS.createdByTenant]: caller.principal.tenantId,
              [SERVICE_TAGS.artifactId]: artifact.id,
            },
          },
          { model: ensured.model },
        );
      } catch (err) {
        // The model was deleted between our two calls (an admin, or a failed registration
        // removing the empty model it made): create it once more, from a clean slate.
        if (round < 3 && isRegistryError(err, ErrorCode.ModelNotFound)) {
          await this.placement.removePlacement(artifact, dto.name, next);
          attempt.filesRemoved();
          continue;
        }
        throw err;
      }
      if (record.version === next) return { record, model: ensured.model, run: created };
      this.logger.warn(
        { model: dto.name, predicted: next, got: record.version },
        'the registry numbered a version differently than predicted; trying the next number',
      );
      await this.backend.deleteModelVersion(tenant, dto.name, record.version);
      await this.placement.removePlacement(artifact, dto.name, next);
      attempt.filesRemoved();
      floor = record.version;
      if (round >= 3) {
        throw RegistryError.unavailable('version numbering of the registry backend');
      }
    }
  }

  /** The highest version number the model has or ever had (deleted ones included). */
  private async highestVersion(tenant: string, model: RegisteredModelRecord): Promise<number> {
    const visible = Math.max(0, ...model.latestVersions.map((v) => v.version));
    const recorded = await this.history.highestVersion(tenant, model.name, modelUid(model));
    return Math.max(visible, recorded);
  }

  /**
   * The version of `name` registered from an artifact, if any. Throws when the backend cannot
   * tell (so a caller never mistakes "unknown" for "none").
   */
  private async versionOfArtifact(
    tenant: string,
    name: string,
    artifactId: string,
  ): Promise<ModelVersionRecord | undefined> {
    try {
      const versions = await this.backend.searchModelVersions(tenant, name);
      return versions.find((v) => v.tags[SERVICE_TAGS.artifactId] === artifactId);
    } catch (err) {
      if (isRegistryError(err, ErrorCode.ModelNotFound)) return undefined;
      throw err;
    }
  }

  /**
   * Creates the model unless it exists; returns it, and whether this call created it. A new
   * model is created only once `ready` (the registration's run) is made.
   */
  private async ensureModel(
    tenant: string,
    name: string,
    description: string | undefined,
    ready: Promise<unknown>,
  ): Promise<{ model: RegisteredModelRecord; created: boolean }> {
    try {
      return { model: await this.backend.getRegisteredModel(tenant, name), created: false };
    } catch (err) {
      if (!isRegistryError(err, ErrorCode.ModelNotFound)) throw err;
    }
    await ready;
    try {
      const model = await this.backend.createRegisteredModel(tenant, {
        name,
        description,
        tags: { [SERVICE_TAGS.modelUid]: randomUUID() },
      });
      return { model, created: true };
    } catch (err) {
      // Another registration created it a moment ago: use theirs.
      if (!isRegistryError(err, ErrorCode.ModelAlreadyExists)) throw err;
      return { model: await this.backend.getRegisteredModel(tenant, name), created: false };
    }
  }

  /** Removes what a registration that surely failed made: placement, run, a model it created. */
  private async undo(
    artifact: ArtifactRow,
    name: string,
    attempt: RegistrationAttempt,
  ): Promise<void> {
    const tenant = artifact.tenant_id;
    try {
      const placed = attempt.placement;
      if (placed !== undefined) await this.placement.removePlacement(artifact, name, placed);
      const run = attempt.run;
      if (run) await this.backend.deleteRun(tenant, run.runId);
      if (attempt.modelCreated) {
        // Only if still empty: a concurrent registration may have added its version meanwhile.
        const remaining = await this.backend.searchModelVersions(tenant, name);
        if (remaining.length === 0) await this.backend.deleteRegisteredModel(tenant, name);
      }
    } catch (err) {
      this.logger.error({ err, model: name }, 'could not undo a failed registration');
    }
  }
}
