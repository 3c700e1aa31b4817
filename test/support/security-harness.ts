/**
 * Shared pieces of the OWASP API Security Top 10 suites (test/security): the app's own OpenAPI
 * document as the list of routes to attack, the role rules of DESIGN.md, a log of every attack
 * and every error body (checked for leaked internals), and the counts written to
 * security-results/summary.json.
 */
import { mkdirSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import request from 'supertest';
import { BASE, Role, TestApp } from './test-app';

export interface Schema {
  $ref?: string;
  type?: string;
  format?: string;
  properties?: Record<string, Schema>;
  additionalProperties?: boolean | Schema;
  items?: Schema;
  allOf?: Schema[];
  oneOf?: Schema[];
  anyOf?: Schema[];
  required?: string[];
  nullable?: boolean;
}

export interface OpenApiParameter {
  name: string;
  in: string;
  required?: boolean;
  schema?: Schema;
}

export interface OpenApiOperation {
  parameters?: OpenApiParameter[];
  requestBody?: { required?: boolean; content: Record<string, { schema?: Schema }> };
  responses: Record<string, { content?: Record<string, { schema?: Schema }> }>;
  security?: Record<string, string[]>[];
}

export interface OpenApiDocument {
  paths: Record<string, Record<string, OpenApiOperation>>;
  components: { schemas: Record<string, Schema> };
}

export interface Operation {
  method: string;
  /** The documented path, e.g. /api/v1/ml/registry/models/{name}. */
  path: string;
  /** `method path` with the API prefix left out: `get /models/{name}`. */
  key: string;
  op: OpenApiOperation;
}

const HTTP_METHODS = ['get', 'put', 'post', 'patch', 'delete', 'head', 'options', 'trace'];

export async function loadSpec(t: TestApp): Promise<OpenApiDocument> {
  const res = await request(t.http).get('/docs-json').expect(200);
  return res.body as OpenApiDocument;
}

export function operationsOf(spec: OpenApiDocument): Operation[] {
  return Object.entries(spec.paths).flatMap(([path, item]) =>
    Object.entries(item)
      .filter(([method]) => HTTP_METHODS.includes(method))
      .map(([method, op]) => ({
        method,
        path,
        key: `${method} ${path.startsWith(BASE) ? path.slice(BASE.length) : path}`,
        op,
      })),
  );
}

/** The `{...}` parameters of a path template, in order. */
export function pathParams(path: string): string[] {
  return [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]);
}

/**
 * Path parameters that name no object, with a valid value. A policy's stage is `staging`: an
 * empty staging policy changes nothing the suites rely on (a production policy would: its
 * default approver_roles leave admins out of votes).
 */
export const PATH_DEFAULTS: Record<string, string> = { stage: 'staging' };

export function fillPath(path: string, values: Record<string, string | number>): string {
  return path.replace(/\{([^}]+)\}/g, (_, name: string) => {
    const value = values[name] ?? PATH_DEFAULTS[name];
    if (value === undefined) throw new Error(`no value for path parameter {${name}} of ${path}`);
    return encodeURIComponent(String(value));
  });
}

export function isPublic(op: OpenApiOperation): boolean {
  return op.security === undefined || op.security.length === 0;
}

export function hasJsonBody(op: OpenApiOperation): boolean {
  return op.requestBody?.content['application/json'] !== undefined;
}

export function queryParams(op: OpenApiOperation): OpenApiParameter[] {
  return (op.parameters ?? []).filter((p) => p.in === 'query');
}

// ---------------------------------------------------------------------------------------------
// The role rules of DESIGN.md ("Identity, roles, tenants"), one entry per documented operation.

/**
 * public: no token. read: every role. write: editor, admin. decide: approver, admin.
 * admin: admin only. cancel: the requester or an admin (the suites' callers are never the
 * requester, so admin only).
 */
export type Access = 'public' | 'read' | 'write' | 'decide' | 'admin' | 'cancel';

export const ACCESS: Record<string, Access> = {
  'get /health/live': 'public',
  'get /health/ready': 'public',
  'post /artifacts': 'write',
  'get /artifacts/{artifact_id}': 'read',
  'get /artifacts/{artifact_id}/files/{file}': 'read',
  'post /models': 'write',
  'get /models': 'read',
  'get /models/{name}': 'read',
  'patch /models/{name}': 'write',
  'delete /models/{name}': 'admin',
  'delete /models/{name}/versions/{version}': 'admin',
  'get /models/{name}/versions': 'read',
  'get /models/{name}/versions/{version}': 'read',
  'patch /models/{name}/versions/{version}': 'write',
  'post /models/{name}/versions/{version}/stage': 'write',
  'get /models/{name}/versions/{version}/transitions': 'read',
  'get /models/{name}/compare': 'read',
  'put /models/{name}/aliases/{alias}': 'write',
  'get /models/{name}/aliases/{alias}': 'read',
  'delete /models/{name}/aliases/{alias}': 'write',
  'get /approvals': 'read',
  'get /approvals/{id}': 'read',
  'post /approvals/{id}/approve': 'decide',
  'post /approvals/{id}/reject': 'decide',
  'post /approvals/{id}/cancel': 'cancel',
  'post /models/{name}/rollback': 'write',
  'get /policies/{stage}': 'read',
  'put /policies/{stage}': 'admin',
  'delete /policies/{stage}': 'admin',
  'get /models/{name}/policies/{stage}': 'read',
  'put /models/{name}/policies/{stage}': 'admin',
  'delete /models/{name}/policies/{stage}': 'admin',
  'post /webhooks': 'admin',
  'get /webhooks': 'admin',
  'get /webhooks/{webhook_id}': 'admin',
  'patch /webhooks/{webhook_id}': 'admin',
  'delete /webhooks/{webhook_id}': 'admin',
  'post /webhooks/{webhook_id}/rotate-secret': 'admin',
  'post /webhooks/{webhook_id}/test': 'admin',
  'get /webhooks/{webhook_id}/deliveries': 'admin',
  'post /webhooks/{webhook_id}/deliveries/{delivery_id}/redeliver': 'admin',
  'get /audit': 'admin',
  'get /audit/verify': 'admin',
};

export function allowed(access: Access, roles: readonly Role[]): boolean {
  switch (access) {
    case 'public':
      return true;
    case 'read':
      return roles.length > 0;
    case 'write':
      return roles.includes('editor') || roles.includes('admin');
    case 'decide':
      return roles.includes('approver') || roles.includes('admin');
    case 'admin':
    case 'cancel':
      return roles.includes('admin');
  }
}

/** The callers every matrix runs: each role alone, every role but admin, and no role at all. */
export const ROLE_SETS: Record<string, Role[]> = {
  viewer: ['viewer'],
  editor: ['editor'],
  approver: ['approver'],
  admin: ['admin'],
  'all-but-admin': ['viewer', 'editor', 'approver'],
  'no role': [],
};

// ---------------------------------------------------------------------------------------------
// What an error body may never show.

const SRC_DIR = resolve(__dirname, '../../src');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory()
      ? sourceFiles(join(dir, e.name))
      : e.name.endsWith('.ts')
        ? [join(dir, e.name)]
        : [],
  );
}

let classNames: string[] | undefined;

/** Every class declared in src/ (services, repositories, adapters, DTOs...). */
export function sourceClassNames(): string[] {
  if (classNames === undefined) {
    const names = new Set<string>();
    for (const file of sourceFiles(SRC_DIR)) {
      for (const m of readFileSync(file, 'utf8').matchAll(/\bclass\s+([A-Z]\w+)/g)) {
        names.add(m[1]);
      }
    }
    classNames = [...names];
  }
  return classNames;
}

/** Messages the contract gives the client on purpose, taken out before the checks. */
const DOCUMENTED_PHRASES = [
  // Reserved tag prefixes are part of the documented API.
  /\(prefixes registry\., mlflow\.\)/g,
  /'(registry|mlflow)\.[^']*'/g,
];

const LEAK_PATTERNS: [string, RegExp][] = [
  ['stack trace', /\n\s+at\s|\bat\s+[\w.<>]+\s+\([^)]*:\d+:\d+\)|\bat\s+(async\s+)?[\w.]+\s+\(/],
  ['source location', /\.(ts|js|mjs|cjs):\d+/],
  [
    'file path',
    /(^|[\s'"(=:])\/(home|work|tmp|usr|var|etc|opt|root|srv|app|proc|dev|src|dist|node_modules)\//,
  ],
  ['file path', /node_modules|[A-Za-z]:\\/],
  [
    'SQL',
    /\b(SELECT\s+[\w*"]|INSERT\s+INTO|UPDATE\s+"?\w+"?\s+SET|DELETE\s+FROM|CREATE\s+(TABLE|INDEX)|SQLITE_\w+|syntax error at or near|violates \w+ constraint|UNIQUE constraint|relation "\w+")/i,
  ],
  [
    'backend name',
    /\b(sqlite3?|better-sqlite3|kysely|postgres(ql)?|pg|mlflow|minio|seaweedfs|redis|keyv|busboy|axios|jose|nestjs|express|typeorm|undici)\b/i,
  ],
  ['backend name', /\bs3\b|amazonaws/i],
  [
    'error class',
    /\b(TypeError|RangeError|ReferenceError|SyntaxError|SqliteError|DatabaseError|AxiosError|S3Error|QueryFailedError|JOSEError|JWTExpired|JWSSignatureVerificationFailed|ECONNREFUSED|ECONNRESET)\b/,
  ],
];

/** Why a response body (as text) leaks internals; empty when it does not. */
export function leaksIn(text: string, secrets: string[] = []): string[] {
  let cleaned = text;
  for (const phrase of DOCUMENTED_PHRASES) cleaned = cleaned.replace(phrase, '');
  const found: string[] = [];
  for (const [what, pattern] of LEAK_PATTERNS) {
    const m = pattern.exec(cleaned);
    if (m) found.push(`${what}: ${JSON.stringify(m[0])}`);
  }
  for (const name of sourceClassNames()) {
    if (new RegExp(`\\b${name}\\b`).test(cleaned)) found.push(`class name: ${name}`);
  }
  for (const secret of secrets) {
    if (secret.length > 0 && cleaned.includes(secret)) found.push(`internal value: ${secret}`);
  }
  return found;
}

const ERROR_KEYS = new Set(['statusCode', 'error', 'message', 'code', 'request_id', 'details']);

/** Why an error body does not have the documented shape; empty when it does. */
export function errorShapeProblems(status: number, body: unknown): string[] {
  if (typeof body !== 'object' || body === null) return ['not a JSON object'];
  const b = body as Record<string, unknown>;
  const problems: string[] = [];
  for (const key of Object.keys(b)) if (!ERROR_KEYS.has(key)) problems.push(`extra key ${key}`);
  if (b['statusCode'] !== status) problems.push(`statusCode ${String(b['statusCode'])}`);
  if (typeof b['code'] !== 'string' || !/^[A-Z_]+$/.test(b['code'])) problems.push('code');
  if (typeof b['message'] !== 'string') problems.push('message');
  if (typeof b['error'] !== 'string') problems.push('error');
  if (status >= 500 && typeof b['request_id'] !== 'string') problems.push('500 without request_id');
  return problems;
}

// ---------------------------------------------------------------------------------------------
// The attack log.

export interface ObservedError {
  where: string;
  status: number;
  text: string;
  body: unknown;
  /** False for answers that are not error bodies by contract (the readiness report). */
  shape: boolean;
}

/**
 * Counts attacks per OWASP category and keeps every 4xx/5xx body a suite received, for the
 * misconfiguration checks (API8) at the end of each file.
 */
export class SecurityLog {
  readonly counts: Record<string, number> = {};
  readonly errors: ObservedError[] = [];
  responses = 0;

  constructor(readonly suite: string) {}

  attack(category: string, n = 1): void {
    this.counts[category] = (this.counts[category] ?? 0) + n;
  }

  /** Records a response; returns it. */
  see<R extends request.Response>(where: string, res: R, options: { shape?: boolean } = {}): R {
    this.responses += 1;
    if (res.status >= 400) {
      this.errors.push({
        where,
        status: res.status,
        text: res.text ?? '',
        body: res.body,
        shape: options.shape !== false,
      });
    }
    return res;
  }

  /** Every problem (leak or shape) in the error bodies seen so far. */
  problems(secrets: string[] = []): string[] {
    const out: string[] = [];
    for (const e of this.errors) {
      for (const p of leaksIn(e.text, secrets)) out.push(`${e.where} → ${e.status}: ${p}`);
      if (!e.shape) continue;
      if (!e.text.trim().startsWith('{')) {
        out.push(`${e.where} → ${e.status}: body is not JSON: ${e.text.slice(0, 80)}`);
      } else for (const p of errorShapeProblems(e.status, e.body)) out.push(`${e.where}: ${p}`);
    }
    return out;
  }

  /** Writes this suite's counts and rebuilds security-results/summary.json. */
  write(): void {
    writeSummaryPart(this.suite, {
      attacks: this.counts,
      responses: this.responses,
      error_bodies_checked: this.errors.length,
    });
  }
}

export const RESULTS_DIR = resolve(__dirname, '../../security-results');

interface SuitePart {
  attacks: Record<string, number>;
  responses: number;
  error_bodies_checked: number;
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** Suites may run in parallel workers: the summary is rebuilt under a mkdir lock. */
function writeSummaryPart(suite: string, part: SuitePart): void {
  const partsDir = join(RESULTS_DIR, 'parts');
  mkdirSync(partsDir, { recursive: true });
  writeFileSync(join(partsDir, `${suite}.json`), JSON.stringify(part, null, 2) + '\n');
  const lock = join(RESULTS_DIR, '.lock');
  for (let i = 0; ; i++) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      if (i > 200) break; // a stale lock of a killed run: write anyway
      sleepSync(10);
    }
  }
  try {
    const suites: Record<string, SuitePart> = {};
    for (const f of readdirSync(partsDir)
      .filter((n) => n.endsWith('.json'))
      .sort()) {
      suites[f.replace(/\.json$/, '')] = JSON.parse(
        readFileSync(join(partsDir, f), 'utf8'),
      ) as SuitePart;
    }
    const categories: Record<string, number> = {};
    let responses = 0;
    let errorBodies = 0;
    for (const s of Object.values(suites)) {
      responses += s.responses;
      errorBodies += s.error_bodies_checked;
      for (const [c, n] of Object.entries(s.attacks)) categories[c] = (categories[c] ?? 0) + n;
    }
    const sorted = Object.fromEntries(
      Object.entries(categories).sort(([a], [b]) => (a < b ? -1 : 1)),
    );
    writeFileSync(
      join(RESULTS_DIR, 'summary.json'),
      JSON.stringify(
        {
          generated_at: new Date().toISOString(),
          attacks_by_category: sorted,
          attacks_total: Object.values(categories).reduce((a, b) => a + b, 0),
          responses_checked: responses,
          // API8: every 4xx/5xx body received by the suites, checked for leaks and shape.
          error_bodies_checked: errorBodies,
          suites,
        },
        null,
        2,
      ) + '\n',
    );
  } finally {
    try {
      rmdirSync(lock);
    } catch {
      // already gone
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Requests.

type Method = 'get' | 'post' | 'put' | 'patch' | 'delete' | 'head' | 'options';

/** A request with an optional bearer token and JSON body. */
export function call(
  t: TestApp,
  method: string,
  url: string,
  token?: string,
  body?: unknown,
): request.Test {
  let r = request(t.http)[method as Method](url);
  if (token !== undefined) r = r.set('Authorization', `Bearer ${token}`);
  if (body !== undefined) r = r.send(body as object);
  return r;
}

/** A minimal valid JSON body for each operation that takes one. */
export const VALID_BODIES: Record<string, Record<string, unknown>> = {
  'post /models': {},
  'patch /models/{name}': { description: 'security suite' },
  'patch /models/{name}/versions/{version}': { description: 'security suite' },
  'post /models/{name}/versions/{version}/stage': { stage: 'staging' },
  'put /models/{name}/aliases/{alias}': { version: 1 },
  'post /approvals/{id}/approve': { comment: 'ok' },
  'post /approvals/{id}/reject': { comment: 'no' },
  'post /approvals/{id}/cancel': { comment: 'withdrawn' },
  'post /models/{name}/rollback': { to_version: 1, reason: 'security suite' },
  'put /policies/{stage}': {},
  'put /models/{name}/policies/{stage}': {},
  'post /webhooks': { url: 'https://ci.example/hooks/registry', events: ['*'] },
  'patch /webhooks/{webhook_id}': { description: 'security suite' },
};

/** Required query parameters, with valid values. */
export const REQUIRED_QUERY: Record<string, Record<string, string>> = {
  'get /models/{name}/compare': { versions: '1,2' },
};

export function withQuery(url: string, query: Record<string, string> | undefined): string {
  if (query === undefined || Object.keys(query).length === 0) return url;
  return `${url}?${new URLSearchParams(query).toString()}`;
}

// ---------------------------------------------------------------------------------------------
// Documented response schemas: which keys a response may carry.

function resolveRef(spec: OpenApiDocument, schema: Schema): Schema {
  let s = schema;
  for (let i = 0; s.$ref !== undefined && i < 10; i++) {
    const name = s.$ref.replace('#/components/schemas/', '');
    s = spec.components.schemas[name] ?? {};
  }
  return s;
}

/** The paths of keys in `value` that `schema` does not declare. */
export function undeclaredKeys(
  spec: OpenApiDocument,
  schema: Schema | undefined,
  value: unknown,
  at = '$',
): string[] {
  if (schema === undefined || value === null || value === undefined) return [];
  const s = resolveRef(spec, schema);
  if (s.allOf) {
    const merged: Schema = { type: 'object', properties: {} };
    for (const part of s.allOf) {
      const r = resolveRef(spec, part);
      Object.assign(merged.properties!, r.properties ?? {});
      if (r.additionalProperties !== undefined)
        merged.additionalProperties = r.additionalProperties;
    }
    return undeclaredKeys(spec, merged, value, at);
  }
  if (s.oneOf || s.anyOf) {
    const options = (s.oneOf ?? s.anyOf)!;
    const fits = options.map((o) => undeclaredKeys(spec, o, value, at));
    return fits.some((f) => f.length === 0) ? [] : (fits[0] ?? []);
  }
  if (Array.isArray(value)) {
    return s.items ? value.flatMap((v, i) => undeclaredKeys(spec, s.items, v, `${at}[${i}]`)) : [];
  }
  if (typeof value !== 'object') return [];
  const out: string[] = [];
  for (const [key, v] of Object.entries(value as Record<string, unknown>)) {
    const declared = s.properties?.[key];
    if (declared !== undefined) out.push(...undeclaredKeys(spec, declared, v, `${at}.${key}`));
    else if (typeof s.additionalProperties === 'object') {
      out.push(...undeclaredKeys(spec, s.additionalProperties, v, `${at}.${key}`));
    } else if (s.additionalProperties !== true) out.push(`${at}.${key}`);
  }
  return out;
}

/** The documented JSON schema of an operation's response with `status`. */
export function responseSchema(operation: Operation, status: number): Schema | undefined {
  return operation.op.responses[String(status)]?.content?.['application/json']?.schema;
}

/**
 * Binds the app's server to a port once: supertest otherwise listens and closes a new port
 * for every request, which costs more than the request itself.
 */
export async function serve(t: TestApp): Promise<TestApp> {
  if (!t.http.listening) await new Promise<void>((r) => t.http.listen(0, '127.0.0.1', r));
  return t;
}

/** Runs `fn` over `items`, at most `limit` at a time, in order of start. */
export async function eachLimit<T>(
  items: T[],
  limit: number,
  fn: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const item = items[next++];
      await fn(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
