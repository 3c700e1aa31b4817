import { decodeParams, encodeParams } from './run-params-codec';

/** What MLflow hands back for what the codec wrote (it stores params and tags as given). */
function roundTrip(params: Record<string, string | number | boolean>) {
  const encoded = encodeParams(params);
  const unreadable: string[] = [];
  const decoded = decodeParams(encoded.params, encoded.typeTags, (tag) => unreadable.push(tag));
  return { encoded, decoded, unreadable };
}

describe('run parameter codec', () => {
  it('stores every value as MLflow’s string and types only numbers and booleans', () => {
    const { encoded } = roundTrip({ n_estimators: 200, booster: 'gbtree', early_stop: false });
    expect(encoded.params).toEqual([
      { key: 'n_estimators', value: '200' },
      { key: 'booster', value: 'gbtree' },
      { key: 'early_stop', value: 'false' },
    ]);
    expect(encoded.typeTags).toEqual([
      {
        key: 'registry.param_types.0',
        value: JSON.stringify([
          ['n_estimators', 'n'],
          ['early_stop', 'b'],
        ]),
      },
    ]);
  });

  it('reads back each JSON type, also for names with dots and strings that look typed', () => {
    const params = {
      'model.depth': 6,
      'optimizer.lr': 0.05,
      'loss.delta': -1.5e-3,
      zero: 0,
      'early.stop': true,
      shuffle: false,
      tag: '200',
      flag: 'true',
      empty: '',
    };
    const { decoded, unreadable } = roundTrip(params);
    expect(decoded).toEqual(params);
    expect(unreadable).toEqual([]);
  });

  it('writes no type tag when every parameter is a string, or there are none', () => {
    expect(encodeParams({ a: 'x', b: 'y' }).typeTags).toEqual([]);
    expect(encodeParams({})).toEqual({ params: [], typeTags: [] });
  });

  it('splits the types over numbered tags, each under 4000 characters, and reads them all', () => {
    const params: Record<string, number> = {};
    for (let i = 0; i < 100; i++) params[`p_${i}_${'x'.repeat(100)}`] = i;
    const { encoded, decoded } = roundTrip(params);
    expect(encoded.typeTags.length).toBeGreaterThan(1);
    expect(encoded.typeTags.map((t) => t.key)).toEqual(
      encoded.typeTags.map((_, i) => `registry.param_types.${i}`),
    );
    for (const tag of encoded.typeTags) expect(tag.value!.length).toBeLessThanOrEqual(4000);
    expect(decoded).toEqual(params);
  });

  it('reads parameters no type tag names as strings (a run logged by MLflow’s own clients)', () => {
    const params = [
      { key: 'n_estimators', value: '200' },
      { key: 'early_stop', value: 'true' },
    ];
    expect(decodeParams(params, undefined, () => undefined)).toEqual({
      n_estimators: '200',
      early_stop: 'true',
    });
    expect(
      decodeParams(
        params,
        [{ key: 'registry.param_types.0', value: '[["n_estimators","n"]]' }],
        () => undefined,
      ),
    ).toEqual({ n_estimators: 200, early_stop: 'true' });
  });

  it('reads a run without parameters as none', () => {
    expect(decodeParams(undefined, undefined, () => undefined)).toEqual({});
  });

  it('ignores other tags, even ones that look like type lists', () => {
    const decoded = decodeParams(
      [{ key: 'a', value: '1' }],
      [
        { key: 'mlflow.user', value: 'x' },
        { key: 'registry.param_types', value: '[["a","n"]]' },
      ],
      () => undefined,
    );
    expect(decoded).toEqual({ a: '1' });
  });

  it('reports an unreadable type tag and keeps its parameters strings, using the other tags', () => {
    const unreadable: string[] = [];
    const decoded = decodeParams(
      [
        { key: 'a', value: '1' },
        { key: 'b', value: 'true' },
      ],
      [
        { key: 'registry.param_types.0', value: '[["a", "n"' },
        { key: 'registry.param_types.1', value: '[["b","b"]]' },
      ],
      (tag) => unreadable.push(tag),
    );
    expect(decoded).toEqual({ a: '1', b: true });
    expect(unreadable).toEqual(['registry.param_types.0']);
  });

  it('reads a type tag without a value as naming no types', () => {
    const unreadable: string[] = [];
    expect(
      decodeParams([{ key: 'a', value: '1' }], [{ key: 'registry.param_types.0' }], (tag) =>
        unreadable.push(tag),
      ),
    ).toEqual({ a: '1' });
    expect(unreadable).toEqual([]);
  });
});
