import { RegistryError } from '../common/errors/registry-error';
import { Stage } from '../mlflow/registry-types';

/** Stages that several versions may hold at once, and that `archive_existing_versions` clears. */
export const ACTIVE_STAGES: readonly Stage[] = [Stage.Staging, Stage.Production];

/**
 * Whether `archive_existing_versions` means anything for a move to `stage`: only for staging and
 * production, as in MLflow (which refuses the flag for other targets).
 */
export function archiveApplies(stage: Stage): boolean {
  return ACTIVE_STAGES.includes(stage);
}

/** A request that asks to archive the others on a move where that means nothing is a 400. */
export function checkArchiveFlag(stage: Stage, archive: boolean | undefined): void {
  if (archive === true && !archiveApplies(stage)) {
    throw RegistryError.validation(
      'archive_existing_versions applies only to staging or production',
    );
  }
}
