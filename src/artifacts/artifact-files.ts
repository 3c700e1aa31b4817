import { MODEL_FILE_NAMES, modelFileFor, type ModelFileName } from '../domain/model-files';
import type { ArtifactRow } from './artifacts.repository';

export { isModelFile, MODEL_FILE_NAMES, type ModelFileName } from '../domain/model-files';

/** The files an artifact may hold, by multipart part name. */
export type PartName =
  | 'model'
  | 'preprocessor'
  | 'config'
  | 'metrics'
  | 'requirements'
  | 'mlmodel'
  | 'conda'
  | 'python_env';

export const ARTIFACT_FILE_NAMES = [
  ...MODEL_FILE_NAMES,
  'preprocessor.pkl',
  'config.json',
  'metrics.json',
  'requirements.txt',
  // An MLflow model's own files, under MLflow's names, so that the version's folder is one.
  'MLmodel',
  'conda.yaml',
  'python_env.yaml',
] as const;
export type ArtifactFileName = (typeof ARTIFACT_FILE_NAMES)[number];

export interface PartSpec {
  /** Binary parts stream to storage; metadata parts are small, read whole and checked first. */
  kind: 'binary' | 'metadata';
  contentType: string;
  /**
   * The stored file name, from the uploaded file name where it matters (the model's format,
   * one of the deployment's `models`).
   */
  storedName(uploadedName: string | undefined, models: readonly ModelFileName[]): ArtifactFileName;
}

export const PARTS: Record<PartName, PartSpec> = {
  model: {
    kind: 'binary',
    contentType: 'application/octet-stream',
    storedName: (uploaded, models) => modelFileFor(uploaded, models),
  },
  preprocessor: {
    kind: 'binary',
    contentType: 'application/octet-stream',
    storedName: () => 'preprocessor.pkl',
  },
  config: { kind: 'metadata', contentType: 'application/json', storedName: () => 'config.json' },
  metrics: { kind: 'metadata', contentType: 'application/json', storedName: () => 'metrics.json' },
  requirements: {
    kind: 'metadata',
    contentType: 'text/plain; charset=utf-8',
    storedName: () => 'requirements.txt',
  },
  mlmodel: { kind: 'metadata', contentType: 'application/yaml', storedName: () => 'MLmodel' },
  conda: { kind: 'metadata', contentType: 'application/yaml', storedName: () => 'conda.yaml' },
  python_env: {
    kind: 'metadata',
    contentType: 'application/yaml',
    storedName: () => 'python_env.yaml',
  },
};

export function isPartName(name: string): name is PartName {
  return Object.prototype.hasOwnProperty.call(PARTS, name);
}

export function contentTypeOf(file: ArtifactFileName): string {
  if (file.endsWith('.tar.gz')) return 'application/gzip';
  if (file.endsWith('.json')) return 'application/json';
  if (file.endsWith('.txt')) return 'text/plain; charset=utf-8';
  if (file.endsWith('.yaml') || file === 'MLmodel') return 'application/yaml';
  return 'application/octet-stream';
}

export const ARTIFACT_ID_PATTERN = /^model-[a-z0-9]{6,64}$/;

/** Where an upload puts an artifact's files in the object store. */
export const artifactPrefix = (tenant: string, artifactId: string): string =>
  `${tenant}/artifacts/${artifactId}/`;
/** Where a registered version's files live: `<tenant>/<model>/v<version>/`. */
export const versionPrefix = (tenant: string, model: string, version: number): string =>
  `${tenant}/${model}/v${version}/`;

/**
 * Where an artifact's file is in the object store: under its version once registered (its
 * `location`), else where it was uploaded.
 */
export const keyOf = (row: ArtifactRow, file: ArtifactFileName): string =>
  `${row.location ?? artifactPrefix(row.tenant_id, row.id)}${file}`;
