import { RegistryError } from '../common/errors/registry-error';

/**
 * The names a model file is stored under, one per format. The seed's two (pickle, PyTorch) come
 * first; the others are the formats serving stacks load (ONNX, joblib, safetensors, a raw
 * `.bin`, Keras `.h5`/`.keras`, and a `.tar.gz` bundle of a model directory such as an MLflow
 * model or a SavedModel). `ARTIFACT_MODEL_FILES` narrows what a deployment accepts.
 */
export const MODEL_FILE_NAMES = [
  'model.pkl',
  'model.pt',
  'model.onnx',
  'model.joblib',
  'model.safetensors',
  'model.bin',
  'model.h5',
  'model.keras',
  'model.tar.gz',
] as const;
export type ModelFileName = (typeof MODEL_FILE_NAMES)[number];

/** An uploaded file name's ending → the name it is stored under (case does not matter). */
const MODEL_SUFFIXES: readonly (readonly [string, ModelFileName])[] = [
  ['.tar.gz', 'model.tar.gz'],
  ['.tgz', 'model.tar.gz'],
  ['.pkl', 'model.pkl'],
  ['.pickle', 'model.pkl'],
  ['.pt', 'model.pt'],
  ['.pth', 'model.pt'],
  ['.onnx', 'model.onnx'],
  ['.joblib', 'model.joblib'],
  ['.safetensors', 'model.safetensors'],
  ['.bin', 'model.bin'],
  ['.h5', 'model.h5'],
  ['.keras', 'model.keras'],
];

/** The stored name of an uploaded model file, if its format is one of `accepted`. */
export function modelFileFor(
  uploaded: string | undefined,
  accepted: readonly ModelFileName[],
): ModelFileName {
  const lower = (uploaded ?? '').toLowerCase();
  const found = MODEL_SUFFIXES.find(([suffix]) => lower.endsWith(suffix))?.[1];
  if (found !== undefined && accepted.includes(found)) return found;
  const [first, second, ...rest] = accepted.map((name) => `*${name.slice('model'.length)}`);
  const names = second === undefined ? first : `${first} or ${second}`;
  const also = rest.length > 0 ? ` (also accepted: ${rest.join(', ')})` : '';
  throw RegistryError.validation(
    `model must be a file named ${names}${also} (got ${uploaded ? `'${uploaded.slice(0, 100)}'` : 'no file name'})`,
  );
}

export function isModelFile(name: string): name is ModelFileName {
  return (MODEL_FILE_NAMES as readonly string[]).includes(name);
}
