import axios from 'axios';
import request from 'supertest';
import { auth, registerVersion } from './support/fixtures';
import { BASE, createTestApp, removeDir, TestApp } from './support/test-app';

/**
 * Aliases through HTTP, as a client uses them: set, move, read, delete, their validation and
 * roles, what versions and models show, history entries; on the real stack (e2e-real) also what
 * MLflow's own REST API shows.
 */
describe('aliases (e2e)', () => {
  let t: TestApp;
  let editor: string;
  let viewer: string;
  let admin: string;
  let counter = 0;
  const model = (): string => `aliased-${++counter}`;

  beforeAll(async () => {
    // The alias semantics, unprotected (protected aliases: test/protected-aliases.e2e-spec.ts).
    t = await createTestApp({ env: { PROTECTED_ALIASES: '' } });
    editor = await t.token('alice', ['editor']);
    viewer = await t.token('victor', ['viewer']);
    admin = await t.token('root', ['admin']);
  });

  afterAll(async () => {
    await t.close();
    removeDir(t.dataDir);
  });

  const api = (method: 'get' | 'put' | 'delete', path: string, token: string) =>
    request(t.http)
      [method](`${BASE}${path}`)
      .set(...auth(token));

  /** A model with `n` versions. */
  const modelWith = async (n: number): Promise<string> => {
    const name = model();
    for (let i = 0; i < n; i++) await registerVersion(t, editor, name);
    return name;
  };

  const historyOf = async (name: string, version: number) =>
    (await api('get', `/models/${name}/versions/${version}/transitions`, viewer).expect(200)).body
      .transitions as { event: string; actor: string; comment: string | null }[];

  it('sets an alias: 200 with the version, which then carries it; the model lists it', async () => {
    const name = await modelWith(2);
    const set = await api('put', `/models/${name}/aliases/champion`, editor)
      .send({ version: 2 })
      .expect(200);
    expect(set.body).toMatchObject({ name, version: 2, aliases: ['champion'] });

    const got = await api('get', `/models/${name}/aliases/champion`, viewer).expect(200);
    expect(got.body).toEqual(
      (await api('get', `/models/${name}/versions/2`, viewer).expect(200)).body,
    );
    expect(got.body.aliases).toEqual(['champion']);
    expect((await api('get', `/models/${name}/versions/1`, viewer)).body.aliases).toEqual([]);

    const m = await api('get', `/models/${name}`, viewer).expect(200);
    expect(m.body.aliases).toEqual({ champion: 2 });
    expect(m.body.versions.map((v: { aliases: string[] }) => v.aliases)).toEqual([
      [],
      ['champion'],
    ]);
    const list = await api('get', '/models', viewer).query({ name_like: name }).expect(200);
    expect(list.body.models).toEqual([expect.objectContaining({ name, aliases: { champion: 2 } })]);
    const listed = await api('get', `/models/${name}/versions`, viewer).expect(200);
    expect(listed.body.versions[1].aliases).toEqual(['champion']);
  });

  it('moves an alias by setting it again, with history entries on both versions', async () => {
    const name = await modelWith(2);
    await api('put', `/models/${name}/aliases/champion`, editor).send({ version: 1 }).expect(200);
    // The read before the move is cached; the move must retire it.
    expect((await api('get', `/models/${name}/aliases/champion`, viewer)).body.version).toBe(1);
    await api('put', `/models/${name}/aliases/champion`, editor).send({ version: 2 }).expect(200);
    expect((await api('get', `/models/${name}/aliases/champion`, viewer)).body.version).toBe(2);
    expect((await api('get', `/models/${name}/versions/1`, viewer)).body.aliases).toEqual([]);
    expect((await api('get', `/models/${name}`, viewer)).body.aliases).toEqual({ champion: 2 });

    expect((await historyOf(name, 1)).filter((e) => e.event.startsWith('alias_'))).toEqual([
      expect.objectContaining({
        event: 'alias_set',
        actor: 'alice',
        comment: '@champion set on version 1',
      }),
      expect.objectContaining({
        event: 'alias_deleted',
        actor: 'alice',
        comment: '@champion moved from version 1 to version 2',
      }),
    ]);
    expect((await historyOf(name, 2)).filter((e) => e.event.startsWith('alias_'))).toEqual([
      expect.objectContaining({
        event: 'alias_set',
        comment: '@champion moved from version 1 to version 2',
      }),
    ]);
    // Setting it to the version it names already changes nothing, and records nothing.
    await api('put', `/models/${name}/aliases/champion`, editor).send({ version: 2 }).expect(200);
    expect((await historyOf(name, 2)).filter((e) => e.event.startsWith('alias_'))).toHaveLength(1);
  });

  it('deletes an alias: 204, then 404 ALIAS_NOT_FOUND, the version stays; history says so', async () => {
    const name = await modelWith(1);
    await api('put', `/models/${name}/aliases/champion`, editor).send({ version: 1 }).expect(200);
    await api('get', `/models/${name}/aliases/champion`, viewer).expect(200);
    await api('delete', `/models/${name}/aliases/champion`, editor).expect(204);
    const gone = await api('get', `/models/${name}/aliases/champion`, viewer).expect(404);
    expect(gone.body).toMatchObject({
      code: 'ALIAS_NOT_FOUND',
      message: `model '${name}' has no alias 'champion'`,
    });
    expect(
      (await api('get', `/models/${name}/versions/1`, viewer).expect(200)).body.aliases,
    ).toEqual([]);
    const again = await api('delete', `/models/${name}/aliases/champion`, editor).expect(404);
    expect(again.body.code).toBe('ALIAS_NOT_FOUND');
    expect((await historyOf(name, 1)).map((e) => e.event)).toEqual([
      'registered',
      'alias_set',
      'alias_deleted',
    ]);
    expect((await historyOf(name, 1))[2].comment).toBe('@champion deleted from version 1');
  });

  it('deleting a version removes its aliases', async () => {
    const name = await modelWith(2);
    await api('put', `/models/${name}/aliases/champion`, editor).send({ version: 1 }).expect(200);
    await api('put', `/models/${name}/aliases/challenger`, editor).send({ version: 2 }).expect(200);
    await api('delete', `/models/${name}/versions/1`, admin).expect(204);
    expect((await api('get', `/models/${name}/aliases/champion`, viewer)).body.code).toBe(
      'ALIAS_NOT_FOUND',
    );
    expect((await api('get', `/models/${name}`, viewer)).body.aliases).toEqual({ challenger: 2 });
    // The version's history (kept, in the audit chain) says which alias went with it.
    const audit = await api('get', `/audit?max_results=1000`, admin).expect(200);
    const ofVersion1 = (
      audit.body.entries as {
        model_name: string;
        version: number;
        event: string;
        comment: string;
      }[]
    ).filter((e) => e.model_name === name && e.version === 1);
    expect(ofVersion1.slice(-2).map((e) => [e.event, e.comment])).toEqual([
      ['alias_deleted', '@champion deleted with version 1'],
      ['deleted', 'version deleted'],
    ]);
  });

  it('refuses invalid and reserved alias names with a 400 naming the field', async () => {
    const name = await modelWith(1);
    for (const alias of ['latest', 'LATEST', 'v3', 'V3', '3', 'Champion', '-x', 'a'.repeat(64)]) {
      const res = await api('put', `/models/${name}/aliases/${alias}`, editor).send({ version: 1 });
      expect({ alias, status: res.status, code: res.body.code }).toEqual({
        alias,
        status: 400,
        code: 'VALIDATION_FAILED',
      });
      expect(res.body.message).toMatch(/^alias must/);
    }
    const latest = await api('get', `/models/${name}/aliases/latest`, viewer).expect(400);
    expect(latest.body.message).toContain("alias must not be 'latest'");
    // Names MLflow takes that do not look like versions are fine.
    await api('put', `/models/${name}/aliases/v3-candidate`, editor)
      .send({ version: 1 })
      .expect(200);
    await api('put', `/models/${name}/aliases/${'a'.repeat(63)}`, editor)
      .send({ version: 1 })
      .expect(200);
  });

  it('refuses a bad body: version missing, not an integer, extra fields', async () => {
    const name = await modelWith(1);
    for (const body of [
      {},
      { version: '1' },
      { version: 0 },
      { version: 1.5 },
      { version: 1, x: 1 },
    ]) {
      const res = await api('put', `/models/${name}/aliases/champion`, editor).send(body);
      expect({ body, status: res.status }).toEqual({ body, status: 400 });
    }
    expect((await api('get', `/models/${name}`, viewer)).body.aliases).toEqual({});
  });

  it('answers 404 for a missing model or version, and for another tenant’s model', async () => {
    const name = await modelWith(1);
    expect(
      (
        await api('put', `/models/${name}/aliases/champion`, editor)
          .send({ version: 9 })
          .expect(404)
      ).body.code,
    ).toBe('VERSION_NOT_FOUND');
    expect(
      (await api('put', '/models/nope/aliases/champion', editor).send({ version: 1 }).expect(404))
        .body.code,
    ).toBe('MODEL_NOT_FOUND');
    expect((await api('get', '/models/nope/aliases/champion', viewer).expect(404)).body.code).toBe(
      'MODEL_NOT_FOUND',
    );
    await api('put', `/models/${name}/aliases/champion`, editor).send({ version: 1 }).expect(200);
    const other = await t.token('mallory', ['editor'], 'globex');
    expect(
      (await api('get', `/models/${name}/aliases/champion`, other).expect(404)).body.code,
    ).toBe('MODEL_NOT_FOUND');
    await api('delete', `/models/${name}/aliases/champion`, other).expect(404);
    expect((await api('get', `/models/${name}`, viewer)).body.aliases).toEqual({ champion: 1 });
  });

  it('needs the editor role to set or delete (viewer 403), a token to read (401)', async () => {
    const name = await modelWith(1);
    const denied = await api('put', `/models/${name}/aliases/champion`, viewer)
      .send({ version: 1 })
      .expect(403);
    expect(denied.body.code).toBe('FORBIDDEN');
    await api('put', `/models/${name}/aliases/champion`, editor).send({ version: 1 }).expect(200);
    await api('delete', `/models/${name}/aliases/champion`, viewer).expect(403);
    await request(t.http).get(`${BASE}/models/${name}/aliases/champion`).expect(401);
    expect((await api('get', `/models/${name}/aliases/champion`, viewer)).status).toBe(200);
  });

  it('on the real stack, MLflow itself holds the alias (its REST API shows it)', async () => {
    const mlflow = t.config.mlflow;
    if (mlflow === undefined) return; // embedded: the port's contract suite covers the store
    const name = await modelWith(2);
    await api('put', `/models/${name}/aliases/champion`, editor).send({ version: 2 }).expect(200);
    const mlflowName = `${t.config.namespace}~acme-corp~${name}`;
    const base = `${mlflow.baseUrl}/api/2.0/mlflow`;
    const byAlias = await axios.get<{ model_version: { version: string; source: string } }>(
      `${base}/registered-models/alias`,
      { params: { name: mlflowName, alias: 'champion' } },
    );
    expect(byAlias.data.model_version.version).toBe('2');
    // MLflow's source is the version's folder (what models:/ URIs download)...
    const version = (await api('get', `/models/${name}/versions/2`, viewer)).body;
    expect(version.artifact_uri).toMatch(/\/v2\/model\.pkl$/);
    expect(byAlias.data.model_version.source).toBe(
      version.artifact_uri.replace(/\/model\.pkl$/, ''),
    );
    await api('delete', `/models/${name}/aliases/champion`, editor).expect(204);
    const model = await axios.get<{ registered_model: { aliases?: unknown[] } }>(
      `${base}/registered-models/get`,
      { params: { name: mlflowName } },
    );
    expect(model.data.registered_model.aliases ?? []).toEqual([]);
  });
});
