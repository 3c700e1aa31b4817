import { LatestVersion, ModelVersionRecord, RegisteredModelRecord, Stage } from '../registry-types';
import { fromMlflowSource, isSourceTag } from './mlflow-source';
import { isTenancyTag, plainName } from './mlflow-tenancy';

// ---- MLflow's JSON shapes (only the fields we read) -------------------------------------------

export interface MlflowTag {
  key: string;
  value?: string;
}

export interface MlflowModelVersion {
  name: string;
  version: string;
  creation_timestamp?: number | string;
  last_updated_timestamp?: number | string;
  current_stage?: string;
  description?: string;
  source?: string;
  run_id?: string;
  tags?: MlflowTag[];
  /** The aliases naming this version (get, get-by-alias; `model-versions/search` omits them). */
  aliases?: string[];
}

export interface MlflowRegisteredModel {
  name: string;
  creation_timestamp?: number | string;
  last_updated_timestamp?: number | string;
  description?: string;
  latest_versions?: MlflowModelVersion[];
  tags?: MlflowTag[];
  aliases?: { alias: string; version: string }[];
}

/** A run parameter: MLflow keeps every value as a string. */
export interface MlflowParam {
  key: string;
  value: string;
}

export interface MlflowRun {
  info: { run_id: string; experiment_id: string; lifecycle_stage?: string };
  data?: {
    metrics?: { key: string; value: number | string }[];
    params?: MlflowParam[];
    tags?: MlflowTag[];
  };
}

// ---- MLflow's JSON → the port's records --------------------------------------------------------

export const STAGE_TO_MLFLOW: Record<Stage, string> = {
  [Stage.None]: 'None',
  [Stage.Staging]: 'Staging',
  [Stage.Production]: 'Production',
  [Stage.Archived]: 'Archived',
};

export function stageFromMlflow(stage: string | undefined): Stage {
  switch ((stage ?? 'None').toLowerCase()) {
    case 'staging':
      return Stage.Staging;
    case 'production':
      return Stage.Production;
    case 'archived':
      return Stage.Archived;
    default:
      return Stage.None;
  }
}

function millis(value: number | string | undefined): number {
  const n = Number(value ?? 0);
  return Number.isFinite(n) ? n : 0;
}

/** MLflow's tag list as a map, without the tags `hide` names. */
export function tagsOf(
  tags: MlflowTag[] | undefined,
  hide: (key: string) => boolean = () => false,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const tag of tags ?? []) if (!hide(tag.key)) out[tag.key] = tag.value ?? '';
  return out;
}

export function tagList(tags: Record<string, string>): MlflowTag[] {
  return Object.entries(tags).map(([key, value]) => ({ key, value }));
}

/** The service's view of an MLflow model: its own name, without the tenancy tags. */
export function toModel(model: MlflowRegisteredModel): RegisteredModelRecord {
  const newest = new Map<Stage, number>();
  for (const v of model.latest_versions ?? []) {
    const stage = stageFromMlflow(v.current_stage);
    const version = Number(v.version);
    if ((newest.get(stage) ?? 0) < version) newest.set(stage, version);
  }
  const latestVersions: LatestVersion[] = [...newest.entries()].map(([stage, version]) => ({
    stage,
    version,
  }));
  return {
    name: plainName(model.name),
    description: model.description ?? '',
    tags: tagsOf(model.tags, isTenancyTag),
    createdAt: millis(model.creation_timestamp),
    lastUpdatedAt: millis(model.last_updated_timestamp),
    latestVersions,
    aliases: aliasesOf(model),
  };
}

/** A model's aliases, in name order, each with the version it points at. */
export function aliasesOf(model: MlflowRegisteredModel): Record<string, number> {
  const out: Record<string, number> = {};
  const sorted = [...(model.aliases ?? [])].sort((a, b) => (a.alias < b.alias ? -1 : 1));
  for (const { alias, version } of sorted) out[alias] = Number(version);
  return out;
}

/**
 * `aliases`: the model's (name → version), for answers that leave the version's own out
 * (`model-versions/search`); otherwise the version's own list is taken.
 */
export function toVersion(
  version: MlflowModelVersion,
  aliases?: Record<string, number>,
): ModelVersionRecord {
  const number = Number(version.version);
  const named =
    aliases !== undefined
      ? Object.keys(aliases).filter((alias) => aliases[alias] === number)
      : (version.aliases ?? []);
  return {
    name: plainName(version.name),
    version: number,
    stage: stageFromMlflow(version.current_stage),
    description: version.description ?? '',
    source: fromMlflowSource(version.source ?? '', tagsOf(version.tags)),
    runId: version.run_id !== undefined && version.run_id !== '' ? version.run_id : null,
    tags: tagsOf(version.tags, isSourceTag),
    aliases: [...named].sort(),
    createdAt: millis(version.creation_timestamp),
    lastUpdatedAt: millis(version.last_updated_timestamp),
  };
}

/**
 * MLflow's page token for an offset: base64 of `{"offset": N}`, as its SearchUtils makes them
 * (MLflow calls the format unstable; the contract suite pages on the real server).
 */
export function mlflowOffsetToken(offset: number): string {
  return Buffer.from(JSON.stringify({ offset }), 'utf8').toString('base64');
}
