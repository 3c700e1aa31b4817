import { Stage } from '../registry-types';
import { stageFromMlflow, STAGE_TO_MLFLOW, tagList, toModel, toVersion } from './mlflow-mapper';
import { fromMlflowSource, MODEL_FILE_TAG, toMlflowSource } from './mlflow-source';

describe('MLflow payload mapping', () => {
  it('maps stages both ways, reading MLflow’s in any case and a missing one as none', () => {
    for (const stage of Object.values(Stage)) {
      expect(stageFromMlflow(STAGE_TO_MLFLOW[stage])).toBe(stage);
    }
    expect(stageFromMlflow('PRODUCTION')).toBe(Stage.Production);
    expect(stageFromMlflow(undefined)).toBe(Stage.None);
    expect(stageFromMlflow('something-new')).toBe(Stage.None);
  });

  it('reads a model under its own name, without the tenancy tags, newest version per stage', () => {
    const model = toModel({
      name: 'prod.eu~acme~churn.v2',
      description: 'd',
      creation_timestamp: '1700000000000',
      last_updated_timestamp: 1700000000500,
      tags: [
        { key: 'registry.tenant', value: 'acme' },
        { key: 'registry.namespace', value: 'prod.eu' },
        { key: 'registry.model_uid', value: 'u-1' },
        { key: 'team' },
      ],
      latest_versions: [
        { name: 'prod.eu~acme~churn.v2', version: '2', current_stage: 'Staging' },
        { name: 'prod.eu~acme~churn.v2', version: '10', current_stage: 'Staging' },
        { name: 'prod.eu~acme~churn.v2', version: '3', current_stage: 'Production' },
      ],
      aliases: [
        { alias: 'champion', version: '3' },
        { alias: 'challenger', version: '10' },
      ],
    });
    expect(model).toEqual({
      name: 'churn.v2',
      description: 'd',
      tags: { 'registry.model_uid': 'u-1', team: '' },
      createdAt: 1700000000000,
      lastUpdatedAt: 1700000000500,
      latestVersions: [
        { stage: Stage.Staging, version: 10 },
        { stage: Stage.Production, version: 3 },
      ],
      aliases: { challenger: 10, champion: 3 },
    });
  });

  it('fills what MLflow leaves out of a model', () => {
    expect(toModel({ name: 'acme~m' })).toEqual({
      name: 'm',
      description: '',
      tags: {},
      createdAt: 0,
      lastUpdatedAt: 0,
      latestVersions: [],
      aliases: {},
    });
  });

  it('reads a version with its number, stage and run, and no run when MLflow says ""', () => {
    const version = {
      name: 'acme~churn',
      version: '3',
      current_stage: 'Archived',
      source: 's3://b/acme/churn/v3/model.pkl',
      run_id: 'abc123',
      creation_timestamp: 5,
      last_updated_timestamp: 'not a number',
      tags: [{ key: 'a', value: '1' }],
    };
    expect(toVersion(version)).toEqual({
      name: 'churn',
      version: 3,
      stage: Stage.Archived,
      description: '',
      source: 's3://b/acme/churn/v3/model.pkl',
      runId: 'abc123',
      tags: { a: '1' },
      aliases: [],
      createdAt: 5,
      lastUpdatedAt: 0,
    });
    expect(toVersion({ ...version, run_id: '' }).runId).toBeNull();
    expect(toVersion({ name: 'acme~churn', version: '1' }).runId).toBeNull();
  });
});

describe("a version's source and aliases", () => {
  const base = { name: 'acme~churn', version: '3' };

  it("gives MLflow the version's folder and reads the model file back from the tag", () => {
    const placed = toMlflowSource('s3://b/acme/churn/v3/model.pkl');
    expect(placed).toEqual({
      source: 's3://b/acme/churn/v3',
      tags: { [MODEL_FILE_TAG]: 'model.pkl' },
    });
    const read = toVersion({ ...base, source: placed.source, tags: tagList(placed.tags) });
    expect(read.source).toBe('s3://b/acme/churn/v3/model.pkl');
    expect(read.tags).toEqual({}); // the adapter's tag stays hidden
  });

  it('reads a version created before (its source the file, no tag) unchanged', () => {
    const read = toVersion({ ...base, source: 'file:///data/artifacts/acme/churn/v3/model.pt' });
    expect(read.source).toBe('file:///data/artifacts/acme/churn/v3/model.pt');
    // A folder given with a trailing slash still joins with one.
    expect(fromMlflowSource('s3://b/v3/', { [MODEL_FILE_TAG]: 'model.pkl' })).toBe(
      's3://b/v3/model.pkl',
    );
  });

  it('leaves a source that is no file under a folder as it is', () => {
    expect(toMlflowSource('s3://bucket/')).toEqual({ source: 's3://bucket/', tags: {} });
    expect(toMlflowSource('relative')).toEqual({ source: 'relative', tags: {} });
    expect(toMlflowSource('s3://bucket/model.pkl')).toEqual({
      source: 's3://bucket/model.pkl',
      tags: {},
    });
    expect(toMlflowSource('s3://b/x/')).toEqual({ source: 's3://b/x/', tags: {} });
  });

  it("takes a version's own aliases, or those of the model that point at it", () => {
    expect(toVersion({ ...base, aliases: ['prod', 'champion'] }).aliases).toEqual([
      'champion',
      'prod',
    ]);
    expect(toVersion(base, { champion: 3, old: 1, best: 3 }).aliases).toEqual(['best', 'champion']);
  });
});
