import type { RunRecord } from '../../mlflow/registry-types';

/**
 * What one registration has made so far, written down as it goes, so that a failure undoes
 * exactly that and nothing else: the model (only if this attempt created it), the run, the
 * version number the artifact's files were placed under, and whether the backend was asked for
 * the version (then it may exist even though the call failed: it must be looked for before
 * anything is undone).
 */
export class RegistrationAttempt {
  private createdModel = false;
  private madeRun?: RunRecord;
  private placedAt?: number;
  private askedForVersion = false;

  get modelCreated(): boolean {
    return this.createdModel;
  }

  get run(): RunRecord | undefined {
    return this.madeRun;
  }

  /** The version number the artifact's files are placed under, if they are. */
  get placement(): number | undefined {
    return this.placedAt;
  }

  get versionRequested(): boolean {
    return this.askedForVersion;
  }

  modelWasCreated(): void {
    this.createdModel = true;
  }

  runWasMade(run: RunRecord): RunRecord {
    this.madeRun = run;
    return run;
  }

  filesPlaced(version: number): void {
    this.placedAt = version;
  }

  /** The placement was removed again (a retry under another number follows). */
  filesRemoved(): void {
    this.placedAt = undefined;
  }

  versionWasRequested(): void {
    this.askedForVersion = true;
  }
}
