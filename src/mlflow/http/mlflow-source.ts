/**
 * A version's `source` as MLflow clients need it, and back. The port's source (the service's
 * `artifact_uri`) is the model file, `s3://.../v3/model.pkl`; MLflow resolves `models:/name/3`
 * and `models:/name@alias` by downloading the version's source as a directory (an MLflow model
 * is its folder: MLmodel, model.pkl, conda.yaml, ...), and a file's URI downloads nothing. So
 * MLflow is given the folder, `s3://.../v3`, and the file's name rides along in a hidden
 * version tag; versions created before (their source the file, no tag) read back unchanged.
 */
export const MODEL_FILE_TAG = 'registry.model_file';

/** A tag this file writes on MLflow versions and hides from the service. */
export function isSourceTag(key: string): boolean {
  return key === MODEL_FILE_TAG;
}

/** `scheme://authority/<folder path>/<file>`, the folder path not empty. */
const FILE_IN_FOLDER = /^([a-z][a-z0-9+.-]*:\/\/[^/]*\/[^/].*?)\/([^/]+)$/i;

/** The port's source (the model file's URI) as MLflow's: its folder, and the file's name. */
export function toMlflowSource(source: string): { source: string; tags: Record<string, string> } {
  // A file in a folder below the bucket's (or the host's) root; anything else stays as it is.
  const m = FILE_IN_FOLDER.exec(source);
  if (!m) return { source, tags: {} };
  return { source: m[1], tags: { [MODEL_FILE_TAG]: m[2] } };
}

/** MLflow's source back as the port's: the model file in the folder, or the file itself. */
export function fromMlflowSource(source: string, tags: Record<string, string>): string {
  const file = tags[MODEL_FILE_TAG];
  if (file === undefined || file === '') return source;
  return `${source.replace(/\/+$/, '')}/${file}`;
}
