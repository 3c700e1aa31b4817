import request from 'supertest';
import { auth, download, registerVersion } from './support/fixtures';
import { BASE, createTestApp, removeDir, TestApp } from './support/test-app';

type Schema = Record<string, unknown>;
interface Parameter {
  name: string;
  in: string;
  required?: boolean;
  style?: string;
  explode?: boolean;
  schema: Schema;
}
interface Response {
  content?: Record<string, { schema: Schema }>;
  headers?: Record<string, { required?: boolean; schema: Schema }>;
}
interface Operation {
  parameters?: Parameter[];
  requestBody?: {
    required?: boolean;
    content: Record<string, { schema: Schema; encoding?: Record<string, unknown> }>;
  };
  responses: Record<string, Response>;
}
interface Spec {
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, Schema> };
}

/**
 * The document as a client (or schemathesis, see scripts/fuzz) reads it, checked against what
 * the running service does: the statuses and headers it can answer, the parameter rules it
 * enforces, the bodies it accepts.
 */
describe('OpenAPI document agrees with the service', () => {
  let t: TestApp;
  let spec: Spec;
  let editor: string;
  let approver: string;

  beforeAll(async () => {
    t = await createTestApp();
    spec = (await request(t.http).get('/docs-json').expect(200)).body;
    editor = await t.token('alice', ['editor']);
    approver = await t.token('bob', ['approver']);
  });

  afterAll(async () => {
    await t.close();
    removeDir(t.dataDir);
  });

  const operations = (): [string, Operation][] =>
    Object.entries(spec.paths).flatMap(([path, methods]) =>
      Object.entries(methods).map(([m, op]) => [`${m} ${path}`, op] as [string, Operation]),
    );
  const op = (method: string, path: string): Operation => spec.paths[`${BASE}${path}`][method];
  const param = (operation: Operation, name: string): Parameter =>
    operation.parameters!.find((p) => p.name === name)!;

  it('gives every API operation its common error answers in the error shape', () => {
    for (const [key, operation] of operations()) {
      const codes = Object.keys(operation.responses);
      expect({ key, has431: codes.includes('431') }).toEqual({ key, has431: true });
      if (!key.includes(BASE)) continue;
      // A stage names no resource: only the other path parameters can be missing (404).
      const hasPath = (operation.parameters ?? []).some(
        (p) => p.in === 'path' && p.name !== 'stage',
      );
      const expected = ['400', '401', '403', '503'];
      if (hasPath) expected.push('404');
      if (operation.requestBody) expected.push('413', '415');
      expect({ key, codes }).toEqual({ key, codes: expect.arrayContaining(expected) });
      const unavailable = operation.responses['503'];
      expect(unavailable.content!['application/json'].schema).toEqual({
        $ref: '#/components/schemas/ErrorResponseDto',
      });
      expect(unavailable.headers!['Retry-After'].required).toBe(true);
    }
  });

  it('documents X-Request-Id on every answer, and the service sends it', async () => {
    for (const [key, operation] of operations()) {
      for (const [status, response] of Object.entries(operation.responses)) {
        if (status === '431') continue;
        expect({ key, status, header: response.headers?.['X-Request-Id']?.required }).toEqual({
          key,
          status,
          header: true,
        });
      }
    }
    for (const path of ['/health/live', `${BASE}/models`]) {
      const res = await request(t.http)
        .get(path)
        .set(...auth(editor));
      expect(res.headers['x-request-id']).toMatch(/^[A-Za-z0-9._:-]{1,128}$/);
    }
  });

  it("documents tenant_id's pattern on every authenticated operation", () => {
    for (const [key, operation] of operations()) {
      if (!key.includes(BASE)) continue;
      expect({ key, schema: param(operation, 'tenant_id').schema }).toEqual({
        key,
        schema: { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$', maxLength: 64 },
      });
    }
  });

  it('documents the path parameter rules the service enforces', async () => {
    const version = op('get', '/models/{name}/versions/{version}');
    const name = param(version, 'name').schema;
    expect(name).toMatchObject({ type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$' });
    expect(param(version, 'version').schema).toMatchObject({
      type: 'integer',
      minimum: 1,
      maximum: 2147483647,
    });
    const artifactId = param(op('get', '/artifacts/{artifact_id}'), 'artifact_id').schema;
    expect(artifactId.pattern).toBe('^model-[a-z0-9]{6,64}$');
    const approvalId = param(op('get', '/approvals/{id}'), 'id').schema;
    expect(approvalId).toMatchObject({ type: 'string', format: 'uuid' });

    // What the patterns refuse, the service refuses with a 400; what they accept reaches a 404.
    const status = async (path: string): Promise<number> =>
      (
        await request(t.http)
          .get(`${BASE}${path}`)
          .set(...auth(editor))
      ).status;
    expect(new RegExp(name.pattern as string).test('-bad')).toBe(false);
    expect(await status('/models/-bad')).toBe(400);
    expect(await status('/models/good-name')).toBe(404);
    expect(await status('/models/good-name/versions/0')).toBe(400);
    expect(await status('/models/good-name/versions/1.5')).toBe(400);
    expect(new RegExp(artifactId.pattern as string).test('model-ABC123')).toBe(false);
    expect(await status('/artifacts/model-ABC123')).toBe(400);
    expect(await status('/artifacts/model-abc123')).toBe(404);
    const uuidV1 = '3f6d1c2e-8a4b-1f0e-9d7c-1b2a3c4d5e6f';
    expect(new RegExp(approvalId.pattern as string).test(uuidV1)).toBe(false);
    expect(await status(`/approvals/${uuidV1}`)).toBe(400);
    expect(await status('/approvals/3f6d1c2e-8a4b-4f0e-9d7c-1b2a3c4d5e6f')).toBe(404);
  });

  it('documents max_results as an integer from 1 to 1000, as enforced', async () => {
    for (const path of ['/models', '/approvals']) {
      expect(param(op('get', path), 'max_results').schema).toMatchObject({
        type: 'integer',
        minimum: 1,
        maximum: 1000,
      });
      for (const [value, expected] of [
        ['0', 400],
        ['1001', 400],
        ['2.5', 400],
        ['1', 200],
        ['1000', 200],
      ] as const) {
        const res = await request(t.http)
          .get(`${BASE}${path}`)
          .query({ max_results: value })
          .set(...auth(editor));
        expect({ path, value, status: res.status }).toEqual({ path, value, status: expected });
      }
    }
  });

  it("documents compare's versions as one comma-separated list of integers", () => {
    const versions = param(op('get', '/models/{name}/compare'), 'versions');
    expect(versions).toMatchObject({
      required: true,
      style: 'form',
      explode: false,
      schema: { type: 'array', items: { type: 'integer' }, minItems: 2, maxItems: 10 },
    });
  });

  it('closes every JSON request body (unknown fields are refused) and says which may be left out', async () => {
    for (const [key, operation] of operations()) {
      const ref = operation.requestBody?.content['application/json']?.schema.$ref as string;
      if (ref === undefined) continue;
      const schema = spec.components.schemas[ref.split('/').pop()!];
      expect({ key, additionalProperties: schema.additionalProperties }).toEqual({
        key,
        additionalProperties: false,
      });
      const optional = ((schema.required as string[] | undefined) ?? []).length === 0;
      expect({ key, required: operation.requestBody!.required }).toEqual({
        key,
        required: !optional,
      });
    }
    const unknown = await request(t.http)
      .patch(`${BASE}/models/x`)
      .set(...auth(editor))
      .send({ surprise: 1 });
    expect(unknown.status).toBe(400);
    expect(unknown.body.message).toMatch(/surprise should not exist/);
  });

  it('accepts an approve or cancel without a body, as documented', async () => {
    await registerVersion(t, editor, 'bodiless');
    const ask = async (): Promise<string> =>
      (
        await request(t.http)
          .post(`${BASE}/models/bodiless/versions/1/stage`)
          .set(...auth(editor))
          .send({ stage: 'production' })
          .expect(202)
      ).body.approval.id;
    const first = await ask();
    await request(t.http)
      .post(`${BASE}/approvals/${first}/cancel`)
      .set(...auth(editor))
      .expect(200);
    const second = await ask();
    const approved = await request(t.http)
      .post(`${BASE}/approvals/${second}/approve`)
      .set(...auth(approver))
      .expect(200);
    expect(approved.body.version.stage).toBe('production');
  });

  it('documents the upload parts (the model file name among them) and each download media type', async () => {
    const upload = op('post', '/artifacts').requestBody!.content['multipart/form-data'];
    expect(JSON.stringify(upload.encoding)).toContain('filename=\\"model.pkl\\"');
    // Every part is a file input: an object or text field would make Swagger UI send its
    // placeholders ({"additionalProp1": 0}, "string") as the document.
    const binary = { type: 'string', format: 'binary' };
    expect(upload.schema).toMatchObject({
      properties: {
        model: binary,
        preprocessor: binary,
        config: binary,
        metrics: binary,
        requirements: binary,
      },
    });
    const content = op('get', '/artifacts/{artifact_id}/files/{file}').responses['200'].content!;
    const version = await registerVersion(
      t,
      editor,
      'files',
      {},
      {
        metrics: { f1: 0.5 },
        requirements: 'numpy==2.0\n',
      },
    );
    for (const file of ['model.pkl', 'metrics.json', 'requirements.txt']) {
      const res = await download(t, editor, version.artifact_id, file).expect(200);
      const mediaType = String(res.headers['content-type']).split(';')[0];
      expect({ file, documented: Object.keys(content).includes(mediaType) }).toEqual({
        file,
        documented: true,
      });
      expect(res.headers['x-checksum-sha256']).toMatch(/^[0-9a-f]{64}$/);
    }
  });

  it("documents the download's 200, 206, 304 and 416 with the headers the service sends", async () => {
    const operation = op('get', '/artifacts/{artifact_id}/files/{file}');
    const headerParameters = (operation.parameters ?? [])
      .filter((p) => p.in === 'header')
      .map((p) => p.name);
    expect(headerParameters).toEqual(
      expect.arrayContaining(['Range', 'If-None-Match', 'If-Range']),
    );
    const version = await registerVersion(t, editor, 'ranges');
    const whole = await download(t, editor, version.artifact_id, 'model.pkl').expect(200);
    const etag = String(whole.headers.etag);
    const cases: [number, Record<string, string>][] = [
      [200, {}],
      [206, { Range: 'bytes=0-9' }],
      [304, { 'If-None-Match': etag }],
      [416, { Range: 'bytes=99999999-' }],
    ];
    for (const [status, headers] of cases) {
      let req = download(t, editor, version.artifact_id, 'model.pkl');
      for (const [name, value] of Object.entries(headers)) req = req.set(name, value);
      const res = await req.expect(status);
      const documented = operation.responses[String(status)];
      for (const [name, header] of Object.entries(documented.headers ?? {})) {
        if (!header.required) continue;
        const value = res.headers[name.toLowerCase()] as string | undefined;
        const pattern = header.schema.pattern as string | undefined;
        const allowed = header.schema.enum as string[] | undefined;
        const conforms =
          value !== undefined &&
          (pattern === undefined || new RegExp(pattern).test(value)) &&
          (allowed === undefined || allowed.includes(value));
        expect({ status, name, value, conforms }).toEqual({ status, name, value, conforms: true });
      }
      // A body's media type is documented; an answer documented without one has none (304).
      const mediaType = res.headers['content-type']?.split(';')[0];
      const documentedTypes = Object.keys(documented.content ?? {});
      const conforms =
        mediaType === undefined
          ? documentedTypes.length === 0
          : documentedTypes.includes(mediaType);
      expect({ status, mediaType, conforms }).toEqual({ status, mediaType, conforms: true });
    }
  });
});
