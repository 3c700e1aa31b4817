import { KnownModel } from '../mlflow-registry';
import { Stage } from '../registry-types';
import { MlflowHttpClient } from './mlflow-http-client';
import { MlflowHttpRegistry } from './mlflow-http-registry';

const MODEL = 'ns~acme~churn';
const VERSION = { name: MODEL, version: '1', current_stage: 'None', source: 's3://b/k' };

/** MLflow's answers by endpoint; a call to any other endpoint fails the test. */
const ANSWERS: Record<string, unknown> = {
  'registered-models/get': {
    registered_model: {
      name: MODEL,
      tags: [
        { key: 'registry.tenant', value: 'acme' },
        { key: 'registry.namespace', value: 'ns' },
      ],
    },
  },
  'registered-models/update': {},
  'registered-models/set-tag': {},
  'registered-models/delete-tag': {},
  'registered-models/delete': {},
  'model-versions/create': { model_version: VERSION },
  'model-versions/get': { model_version: VERSION },
  'model-versions/search': { model_versions: [VERSION] },
  'model-versions/update': { model_version: VERSION },
  'model-versions/set-tag': {},
  'model-versions/delete-tag': {},
  'model-versions/transition-stage': { model_version: { ...VERSION, current_stage: 'Staging' } },
  'model-versions/delete': {},
};

/** Records the endpoints called, in order. */
class ScriptedClient {
  readonly calls: string[] = [];

  get(path: string): Promise<unknown> {
    return this.answer(path);
  }
  post(path: string): Promise<unknown> {
    return this.answer(path);
  }
  patch(path: string): Promise<unknown> {
    return this.answer(path);
  }
  delete(path: string): Promise<unknown> {
    return this.answer(path);
  }

  private answer(path: string): Promise<unknown> {
    this.calls.push(path);
    if (!(path in ANSWERS)) return Promise.reject(new Error(`unexpected MLflow call: ${path}`));
    return Promise.resolve(structuredClone(ANSWERS[path]));
  }
}

type Call = (registry: MlflowHttpRegistry, known?: KnownModel) => Promise<unknown>;

/** Every port call on an existing model that takes the hint. */
const HINTED: [string, Call][] = [
  [
    'updateRegisteredModel',
    (r, k) => r.updateRegisteredModel('acme', 'churn', { description: 'd' }, k),
  ],
  ['setRegisteredModelTag', (r, k) => r.setRegisteredModelTag('acme', 'churn', 'a', 'b', k)],
  ['deleteRegisteredModelTag', (r, k) => r.deleteRegisteredModelTag('acme', 'churn', 'a', k)],
  ['deleteRegisteredModel', (r, k) => r.deleteRegisteredModel('acme', 'churn', k)],
  [
    'createModelVersion',
    (r, k) => r.createModelVersion('acme', 'churn', { source: 's3://b/k' }, k),
  ],
  ['getModelVersion', (r, k) => r.getModelVersion('acme', 'churn', 1, k)],
  ['searchModelVersions', (r, k) => r.searchModelVersions('acme', 'churn', {}, k)],
  [
    'updateModelVersion',
    (r, k) => r.updateModelVersion('acme', 'churn', 1, { description: 'd' }, k),
  ],
  ['setModelVersionTag', (r, k) => r.setModelVersionTag('acme', 'churn', 1, 'a', 'b', k)],
  ['deleteModelVersionTag', (r, k) => r.deleteModelVersionTag('acme', 'churn', 1, 'a', k)],
  [
    'transitionModelVersionStage',
    (r, k) => r.transitionModelVersionStage('acme', 'churn', 1, Stage.Staging, false, k),
  ],
  ['deleteModelVersion', (r, k) => r.deleteModelVersion('acme', 'churn', 1, k)],
];

/** The endpoints one call makes, the model read for the hint beforehand and not counted. */
async function callsOf(call: Call, hint: 'none' | 'same model' | 'another model') {
  const client = new ScriptedClient();
  const registry = new MlflowHttpRegistry(client as unknown as MlflowHttpClient, 'ns');
  const model = await registry.getRegisteredModel('acme', 'churn');
  const known =
    hint === 'none'
      ? undefined
      : { model: hint === 'same model' ? model : { ...model, name: 'x' } };
  client.calls.length = 0;
  await call(registry, known);
  return client.calls;
}

const lookups = (calls: string[]) => calls.filter((c) => c === 'registered-models/get').length;

describe('MlflowHttpRegistry: the model the caller has just read', () => {
  it.each(HINTED)(
    '%s skips the ownership lookup, and makes the same other calls',
    async (_, call) => {
      const without = await callsOf(call, 'none');
      const withHint = await callsOf(call, 'same model');
      expect(lookups(without)).toBe(lookups(withHint) + 1);
      expect(withHint.filter((c) => c !== 'registered-models/get')).toEqual(
        without.filter((c) => c !== 'registered-models/get'),
      );
    },
  );

  it.each(HINTED)('%s still looks up a model of another name', async (_, call) => {
    expect(await callsOf(call, 'another model')).toEqual(await callsOf(call, 'none'));
  });
});
