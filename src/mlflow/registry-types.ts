/** Lifecycle stages, in the service's lowercase spelling (MLflow says None/Staging/...). */
export enum Stage {
  None = 'none',
  Staging = 'staging',
  Production = 'production',
  Archived = 'archived',
}

export const STAGES: readonly Stage[] = [
  Stage.None,
  Stage.Staging,
  Stage.Production,
  Stage.Archived,
];

export type ParamValue = string | number | boolean;

/** The newest version in one stage, as MLflow's `latest_versions`. */
export interface LatestVersion {
  version: number;
  stage: Stage;
}

export interface RegisteredModelRecord {
  name: string;
  description: string;
  tags: Record<string, string>;
  createdAt: number;
  lastUpdatedAt: number;
  /** The newest version of each stage that has one (MLflow's `latest_versions`). */
  latestVersions: LatestVersion[];
  /** Each alias of the model and the version it points at (MLflow's `aliases`). */
  aliases: Record<string, number>;
}

export interface ModelVersionRecord {
  name: string;
  version: number;
  stage: Stage;
  description: string;
  source: string;
  runId: string | null;
  tags: Record<string, string>;
  /** The model's aliases that point at this version, sorted (MLflow's `aliases`). */
  aliases: string[];
  createdAt: number;
  lastUpdatedAt: number;
}

/** What a run holds: a version's metrics and parameters. */
export interface RunValues {
  metrics: Record<string, number>;
  params: Record<string, ParamValue>;
}

export interface RunRecord {
  runId: string;
  metrics: Record<string, number>;
  params: Record<string, ParamValue>;
}

export interface Page<T> {
  items: T[];
  /** Opaque; absent on the last page. */
  nextPageToken?: string;
}
