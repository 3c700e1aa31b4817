/**
 * Sustained load: starts the real service (`node dist/main.js`) as a child process, embedded by
 * default (`--real`: MLflow, S3, PostgreSQL and Redis of the running test stack), drives a mixed
 * read/write workload at a steady, bounded rate for `--duration` seconds, samples the child's
 * memory every second, then checks:
 *   - zero errors: every response has the status its operation expects;
 *   - correct final counts: versions registered == versions listed, every version in the stage
 *     the driver put it in, transitions made == 'transition' history entries, approvals
 *     approved == approvals listed as approved and applied;
 *   - flat memory: the slope of RSS over the second half, the heap left after each full GC
 *     (node --trace-gc), and the final RSS against the RSS after warm-up.
 * Writes load-results/summary.json (or --out) and exits 1 when a check fails.
 *
 *   npx ts-node --transpile-only scripts/load/run.ts [--duration 300] [--rate 50] [--real]
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { SignJWT } from 'jose';
import { RssParts, rssParts } from '../../test/support/proc-stats';
import {
  ROOT,
  ServiceProcess,
  startService,
  TEST_SECRET,
} from '../../test/support/service-process';
import {
  freshDatabase,
  loadStackEnv,
  realBackendEnv,
  STACK_ENV_FILE,
  uniqueNamespace,
} from '../../test/support/stack';

const BASE = '/api/v1/ml/registry';
const MiB = 1024 * 1024;

interface Options {
  duration: number;
  rate: number;
  real: boolean;
  out: string;
  models: number;
  concurrency: number;
  /** Largest RSS slope over the second half allowed, MiB per minute. */
  maxSlopeMiBPerMin: number;
  /** Largest growth of RSS from the end of warm-up to the end allowed, MiB. */
  maxGrowthMiB: number;
  /**
   * Largest rise of the heap floor allowed, MiB: the least heap left after a full GC in the
   * last minute against the same in the first minute after warm-up. (The heap after GC is a
   * sawtooth: expired cache entries are swept once a minute, so a slope fitted to every sample
   * says little; the floor is what the process keeps for good.)
   */
  maxHeapFloorGrowthMiB: number;
  /** ML_REGISTRY_CACHE_TTL of the service: short, so the cache reaches its steady size early. */
  cacheTtl: number;
  /**
   * --max-old-space-size of the service (MiB; 0: none): full GCs come sooner, a leak ends in a
   * crash. Without one, V8 on a large machine lets its heap (and RSS) grow long before it
   * collects, which looks like a leak to an RSS check and is not (RELIABILITY.md).
   */
  heapLimit: number;
  /**
   * Versions kept per model (0: all). When a registration takes a model above it, the driver
   * deletes the model's oldest version that is not in production (admin), so the live data stops
   * growing once every model is full: memory that still grows then is not data growing.
   */
  keepVersions: number;
  /** Extra environment of the service (--service-env KEY=VALUE, repeatable), e.g. MALLOC_ARENA_MAX. */
  serviceEnv: Record<string, string>;
}

function parseArgs(argv: string[]): Options {
  const o: Options = {
    duration: 300,
    rate: 50,
    real: false,
    out: join(ROOT, 'load-results', 'summary.json'),
    models: 40,
    concurrency: 64,
    maxSlopeMiBPerMin: 2,
    maxGrowthMiB: 40,
    maxHeapFloorGrowthMiB: 16,
    cacheTtl: 10,
    heapLimit: 256,
    keepVersions: 0,
    serviceEnv: {},
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === '--duration') o.duration = Number(next());
    else if (a === '--rate') o.rate = Number(next());
    else if (a === '--real') o.real = true;
    else if (a === '--out') o.out = resolve(next());
    else if (a === '--models') o.models = Number(next());
    else if (a === '--concurrency') o.concurrency = Number(next());
    else if (a === '--max-slope') o.maxSlopeMiBPerMin = Number(next());
    else if (a === '--max-growth') o.maxGrowthMiB = Number(next());
    else if (a === '--max-heap-floor-growth') o.maxHeapFloorGrowthMiB = Number(next());
    else if (a === '--cache-ttl') o.cacheTtl = Number(next());
    else if (a === '--heap-limit') o.heapLimit = Number(next());
    else if (a === '--keep-versions') o.keepVersions = Number(next());
    else if (a === '--service-env') {
      const [key, ...value] = next().split('=');
      if (!key || value.length === 0) throw new Error('--service-env needs KEY=VALUE');
      o.serviceEnv[key] = value.join('=');
    } else throw new Error(`unknown argument ${a}`);
  }
  if (!(o.duration > 0) || !(o.rate > 0)) throw new Error('--duration and --rate must be > 0');
  return o;
}

const token = (sub: string, roles: string[]): Promise<string> =>
  new SignJWT({ tenant_id: 'load-tenant', roles })
    .setProtectedHeader({ alg: 'HS256' })
    .setIssuedAt()
    .setSubject(sub)
    .setExpirationTime('12h')
    .sign(new TextEncoder().encode(TEST_SECRET));

async function realEnv(): Promise<Record<string, string>> {
  if (!loadStackEnv()) throw new Error(`--real needs the test stack: ${STACK_ENV_FILE} is missing`);
  const databaseUrl = await freshDatabase('load');
  return realBackendEnv({ namespace: uniqueNamespace('load'), databaseUrl });
}

// ---------------------------------------------------------------------------------------------
// The workload

type Stage = 'none' | 'staging' | 'production' | 'archived';

interface ModelState {
  name: string;
  /** stage of every version the driver registered and has not deleted */
  versions: Map<number, Stage>;
  /** 'transition' history entries made on each of those versions */
  transitions: Map<number, number>;
  /** the highest version number the model has had (numbers are never reused) */
  lastVersion: number;
  busy: boolean;
}

interface Op {
  kind: string;
  latencies: number[];
  count: number;
  errors: number;
}

class Stats {
  readonly ops = new Map<string, Op>();
  readonly errors: { at: number; kind: string; detail: string }[] = [];
  requests = 0;
  skipped = 0;
  /** reads of a version that the driver deleted while the read was under way (404, right) */
  goneMeanwhile = 0;

  op(kind: string): Op {
    let op = this.ops.get(kind);
    if (!op) {
      op = { kind, latencies: [], count: 0, errors: 0 };
      this.ops.set(kind, op);
    }
    return op;
  }

  error(kind: string, detail: string): void {
    this.op(kind).errors++;
    if (this.errors.length < 50) this.errors.push({ at: Date.now(), kind, detail });
  }
}

class Driver {
  readonly models: ModelState[] = [];
  transitionsMade = 0;
  approvalsApproved = 0;
  versionsRegistered = 0;
  versionsDeleted = 0;
  /** transitions made on versions deleted since (their history is kept, but not listed) */
  transitionsOfDeleted = 0;
  readonly stats = new Stats();
  private readonly model = randomBytes(8 * 1024);

  constructor(
    private readonly url: string,
    private readonly tokens: { editor: string; approver: string; viewer: string; admin: string },
    private readonly keepVersions: number,
  ) {}

  /** One HTTP call; counts it, checks its status, returns the body (undefined on a mismatch). */
  private async request<T = Record<string, unknown>>(
    kind: string,
    method: string,
    path: string,
    expected: number,
    bearer: string,
    body?: unknown,
    /** a 404 is right when this says so after the answer (the version was deleted meanwhile) */
    goneMeanwhile?: () => boolean,
  ): Promise<T | undefined> {
    const op = this.stats.op(kind);
    const started = performance.now();
    this.stats.requests++;
    op.count++;
    try {
      const isForm = body instanceof FormData;
      const res = await fetch(`${this.url}${BASE}${path}`, {
        method,
        headers: {
          Authorization: `Bearer ${bearer}`,
          ...(body !== undefined && !isForm ? { 'Content-Type': 'application/json' } : {}),
        },
        body: body === undefined ? undefined : isForm ? body : JSON.stringify(body),
        signal: AbortSignal.timeout(30_000),
      });
      const text = await res.text();
      op.latencies.push(performance.now() - started);
      if (res.status === 404 && goneMeanwhile?.() === true) {
        this.stats.goneMeanwhile++;
        return undefined;
      }
      if (res.status !== expected) {
        this.stats.error(kind, `${method} ${path}: ${res.status} ${text.slice(0, 300)}`);
        return undefined;
      }
      return (text === '' ? {} : JSON.parse(text)) as T;
    } catch (err) {
      op.latencies.push(performance.now() - started);
      this.stats.error(kind, `${method} ${path}: ${String(err)}`);
      return undefined;
    }
  }

  private pick<T>(items: T[]): T | undefined {
    return items.length === 0 ? undefined : items[Math.floor(Math.random() * items.length)];
  }

  /** A model no write is running on, marked busy; undefined when all are. */
  private claim(): ModelState | undefined {
    const m = this.pick(this.models.filter((x) => !x.busy));
    if (m) m.busy = true;
    return m;
  }

  async register(m: ModelState): Promise<boolean> {
    const form = new FormData();
    form.append('model', new Blob([this.model]), 'model.pkl');
    form.append(
      'metrics',
      new Blob([JSON.stringify({ accuracy: Math.random(), loss: Math.random() })]),
      'metrics.json',
    );
    const up = await this.request<{ artifact_id: string }>(
      'upload',
      'POST',
      '/artifacts',
      201,
      this.tokens.editor,
      form,
    );
    if (!up) return false;
    const v = await this.request<{ version: number }>(
      'register',
      'POST',
      '/models',
      201,
      this.tokens.editor,
      {
        name: m.name,
        artifact_id: up.artifact_id,
      },
    );
    if (!v) return false;
    const expectedNumber = m.lastVersion + 1;
    if (v.version !== expectedNumber) {
      this.stats.error(
        'register',
        `${m.name}: got version ${v.version}, expected ${expectedNumber}`,
      );
    }
    m.lastVersion = Math.max(v.version, expectedNumber);
    m.versions.set(v.version, 'none');
    this.versionsRegistered++;
    if (this.keepVersions > 0 && m.versions.size > this.keepVersions) await this.deleteOldest(m);
    return true;
  }

  /** Deletes the model's oldest version not in production (bounded data, --keep-versions). */
  private async deleteOldest(m: ModelState): Promise<void> {
    const oldest = [...m.versions.entries()]
      .filter(([, stage]) => stage !== 'production')
      .map(([version]) => version)
      .sort((a, b) => a - b)[0];
    if (oldest === undefined) return;
    // Out of the driver's state first, so that no read starts on it; a read already under way
    // may get a 404, which is then right (`goneMeanwhile`).
    m.versions.delete(oldest);
    const res = await this.request(
      'delete-version',
      'DELETE',
      `/models/${m.name}/versions/${oldest}`,
      204,
      this.tokens.admin,
    );
    if (!res) return;
    this.transitionsOfDeleted += m.transitions.get(oldest) ?? 0;
    m.transitions.delete(oldest);
    this.versionsDeleted++;
  }

  private countTransition(m: ModelState, version: number): void {
    m.transitions.set(version, (m.transitions.get(version) ?? 0) + 1);
    this.transitionsMade++;
  }

  private async transition(m: ModelState): Promise<void> {
    const version = this.pick([...m.versions.keys()]);
    if (version === undefined) return;
    const current = m.versions.get(version)!;
    const target = this.pick(
      (['none', 'staging', 'archived'] as Stage[]).filter((s) => s !== current),
    )!;
    const res = await this.request<{ stage: Stage }>(
      'transition',
      'POST',
      `/models/${m.name}/versions/${version}/stage`,
      200,
      this.tokens.editor,
      { stage: target },
    );
    if (!res) return;
    if (res.stage !== target)
      this.stats.error('transition', `stage ${res.stage}, wanted ${target}`);
    m.versions.set(version, target);
    this.countTransition(m, version);
  }

  private async approval(m: ModelState): Promise<void> {
    const candidates = [...m.versions.entries()].filter(([, s]) => s !== 'production');
    const chosen = this.pick(candidates);
    if (!chosen) return;
    const [version] = chosen;
    const req = await this.request<{ approval: { id: string } }>(
      'approval-request',
      'POST',
      `/models/${m.name}/versions/${version}/stage`,
      202,
      this.tokens.editor,
      { stage: 'production' },
    );
    if (!req) return;
    const res = await this.request<{ approval: { apply_state: string } }>(
      'approval-approve',
      'POST',
      `/approvals/${req.approval.id}/approve`,
      200,
      this.tokens.approver,
      {},
    );
    if (!res) return;
    if (res.approval.apply_state !== 'applied') {
      this.stats.error('approval-approve', `apply_state ${res.approval.apply_state}`);
    }
    for (const [v, s] of m.versions) {
      if (s === 'production') {
        m.versions.set(v, 'archived');
        this.countTransition(m, v);
      }
    }
    m.versions.set(version, 'production');
    this.countTransition(m, version);
    this.approvalsApproved++;
  }

  private async read(): Promise<void> {
    const m = this.pick(this.models)!;
    const version = this.pick([...m.versions.keys()]);
    const viewer = this.tokens.viewer;
    const gone = (): boolean => version !== undefined && !m.versions.has(version);
    const r = Math.random();
    if (r < 0.2) await this.request('read-models', 'GET', '/models?max_results=100', 200, viewer);
    else if (r < 0.4) await this.request('read-model', 'GET', `/models/${m.name}`, 200, viewer);
    else if (r < 0.6 && version !== undefined)
      await this.request(
        'read-version',
        'GET',
        `/models/${m.name}/versions/${version}`,
        200,
        viewer,
        undefined,
        gone,
      );
    else if (r < 0.75)
      await this.request('read-versions', 'GET', `/models/${m.name}/versions`, 200, viewer);
    else if (r < 0.9 && version !== undefined)
      await this.request(
        'read-history',
        'GET',
        `/models/${m.name}/versions/${version}/transitions`,
        200,
        viewer,
        undefined,
        gone,
      );
    else await this.request('read-approvals', 'GET', '/approvals?status=pending', 200, viewer);
  }

  /** One operation of the mix: 60 % reads, 15 % registrations, 15 % transitions, 10 % approvals. */
  async step(): Promise<void> {
    const r = Math.random();
    if (r < 0.6) return this.read();
    const m = this.claim();
    if (!m) return this.read();
    try {
      if (r < 0.75) await this.register(m);
      else if (r < 0.9) await this.transition(m);
      else await this.approval(m);
    } finally {
      m.busy = false;
    }
  }

  /** Reads everything back and compares it with what the driver did. */
  async verify(): Promise<{ ok: boolean; details: Record<string, number>; problems: string[] }> {
    const problems: string[] = [];
    let listedVersions = 0;
    let historyTransitions = 0;
    const viewer = this.tokens.viewer;
    for (const m of this.models) {
      const res = await this.request<{ versions: { version: number; stage: Stage }[] }>(
        'verify',
        'GET',
        `/models/${m.name}/versions`,
        200,
        viewer,
      );
      if (!res) {
        problems.push(`${m.name}: versions could not be listed`);
        continue;
      }
      const listed = res.versions;
      listedVersions += listed.length;
      if (listed.length !== m.versions.size) {
        problems.push(`${m.name}: ${listed.length} versions listed, ${m.versions.size} registered`);
      }
      for (const v of listed) {
        const expected = m.versions.get(v.version);
        if (expected !== v.stage) {
          problems.push(`${m.name} v${v.version}: stage ${v.stage}, expected ${expected}`);
        }
        const h = await this.request<{ transitions: { event: string }[] }>(
          'verify',
          'GET',
          `/models/${m.name}/versions/${v.version}/transitions`,
          200,
          viewer,
        );
        if (h) {
          historyTransitions += h.transitions.filter((e) => e.event === 'transition').length;
        }
      }
    }
    let approvedListed = 0;
    let pageToken: string | undefined;
    do {
      const q = `/approvals?status=approved&max_results=1000${pageToken ? `&page_token=${pageToken}` : ''}`;
      const page = await this.request<{
        approvals: { apply_state: string }[];
        next_page_token?: string;
      }>('verify', 'GET', q, 200, viewer);
      if (!page) break;
      for (const a of page.approvals) {
        approvedListed++;
        if (a.apply_state !== 'applied') problems.push(`an approved approval is ${a.apply_state}`);
      }
      pageToken = page.next_page_token;
    } while (pageToken !== undefined);
    const live = this.versionsRegistered - this.versionsDeleted;
    if (listedVersions !== live)
      problems.push(
        `versions: ${listedVersions} listed, ${this.versionsRegistered} registered - ${this.versionsDeleted} deleted`,
      );
    const onLive = this.transitionsMade - this.transitionsOfDeleted;
    if (historyTransitions !== onLive)
      problems.push(
        `transitions: ${historyTransitions} history entries of listed versions, ${onLive} made on them`,
      );
    if (approvedListed !== this.approvalsApproved)
      problems.push(`approvals: ${approvedListed} approved listed, ${this.approvalsApproved} made`);
    return {
      ok: problems.length === 0,
      problems,
      details: {
        versions_registered: this.versionsRegistered,
        versions_deleted: this.versionsDeleted,
        versions_listed: listedVersions,
        transitions_made: this.transitionsMade,
        transitions_made_on_deleted_versions: this.transitionsOfDeleted,
        transition_history_entries: historyTransitions,
        approvals_approved: this.approvalsApproved,
        approvals_listed_approved: approvedListed,
      },
    };
  }
}

// ---------------------------------------------------------------------------------------------
// Memory

interface Sample {
  t: number;
  rss: number;
}

/** Least-squares slope of y over x. */
function slope(points: { x: number; y: number }[]): number {
  const n = points.length;
  if (n < 2) return 0;
  const mx = points.reduce((s, p) => s + p.x, 0) / n;
  const my = points.reduce((s, p) => s + p.y, 0) / n;
  let num = 0;
  let den = 0;
  for (const p of points) {
    num += (p.x - mx) * (p.y - my);
    den += (p.x - mx) ** 2;
  }
  return den === 0 ? 0 : num / den;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

const round = (x: number, digits = 2): number => Number(x.toFixed(digits));

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  const dataDir = mkdtempSync(join(tmpdir(), 'registry-load-'));
  const env: Record<string, string> = {
    LOG_LEVEL: 'warn',
    APPROVAL_RETRY_INTERVAL_MS: '1000',
    // The per-user rate limit stays on, high enough for the workload's few users.
    RATE_LIMIT_PER_MINUTE: '1000000',
    ML_REGISTRY_CACHE_TTL: String(o.cacheTtl),
    ...(o.real ? await realEnv() : {}),
  };
  // Heap after every full GC, from node --trace-gc: "Mark-Compact 41.2 (60.1) -> 38.0 (59.3) MB".
  const heapAfterGc: { t: number; mib: number }[] = [];
  // The heap V8 holds from the system after every GC (the figure in parentheses), of any kind.
  const heapCommitted: { t: number; mib: number }[] = [];
  let started = 0;
  let pendingLine = '';
  const onOutput = (chunk: string): void => {
    const lines = (pendingLine + chunk).split('\n');
    pendingLine = lines.pop() ?? '';
    for (const line of lines) {
      const m = /(Scavenge|Mark-Compact)[^\d]*[\d.]+ \([\d.]+\) -> ([\d.]+) \(([\d.]+)\) MB/.exec(
        line,
      );
      if (!m || started === 0) continue;
      const t = (Date.now() - started) / 1000;
      if (m[1] === 'Mark-Compact') heapAfterGc.push({ t, mib: Number(m[2]) });
      heapCommitted.push({ t, mib: Number(m[3]) });
    }
  };
  process.stdout.write(
    `load: ${o.real ? 'real stack' : 'embedded'}, ${o.rate} ops/s for ${o.duration} s\n`,
  );
  let service: ServiceProcess | undefined;
  let exitCode = 1;
  try {
    service = await startService({
      dataDir,
      env: { ...env, ...o.serviceEnv },
      nodeArgs: ['--trace-gc', ...(o.heapLimit ? [`--max-old-space-size=${o.heapLimit}`] : [])],
      onOutput,
    });
    const tokens = {
      editor: await token('load-editor', ['editor']),
      approver: await token('load-approver', ['approver']),
      viewer: await token('load-viewer', ['viewer']),
      admin: await token('load-admin', ['admin']),
    };
    const driver = new Driver(service.url, tokens, o.keepVersions);
    for (let i = 0; i < o.models; i++) {
      const m: ModelState = {
        name: `load-model-${i}`,
        versions: new Map(),
        transitions: new Map(),
        lastVersion: 0,
        busy: false,
      };
      driver.models.push(m);
      if (!(await driver.register(m))) throw new Error('setup registration failed');
    }

    const samples: Sample[] = [];
    const partSamples: { t: number; parts: RssParts }[] = [];
    // One read of /proc per second: VmRSS is the sum of its three parts.
    started = Date.now();
    const sampler = setInterval(() => {
      const t = (Date.now() - started) / 1000;
      const parts = rssParts(service!.pid);
      if (parts === null) return;
      samples.push({ t, rss: parts.anon + parts.file + parts.shmem });
      partSamples.push({ t, parts });
    }, 1000);
    let inFlight = 0;
    const all = new Set<Promise<void>>();
    const interval = 1000 / o.rate;
    const end = started + o.duration * 1000;
    let lastReport = started;
    let scheduled = 0;
    for (let i = 0; ; i++) {
      const due = started + i * interval;
      if (due >= end) break;
      scheduled++;
      const wait = due - Date.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      if (inFlight >= o.concurrency) {
        driver.stats.skipped++;
        continue;
      }
      inFlight++;
      const p = driver.step().finally(() => {
        inFlight--;
        all.delete(p);
      });
      all.add(p);
      if (Date.now() - lastReport >= 10_000) {
        lastReport = Date.now();
        const last = samples[samples.length - 1];
        process.stdout.write(
          `  ${Math.round((Date.now() - started) / 1000)} s: ${driver.stats.requests} requests, ` +
            `${driver.stats.errors.length} errors, rss ${last ? round(last.rss / MiB, 1) : '?'} MiB\n`,
        );
      }
    }
    await Promise.all([...all]);
    const elapsed = (Date.now() - started) / 1000;
    clearInterval(sampler);

    const verification = await driver.verify();

    // Memory verdicts. Warm-up: the first 20 % (at least 10 s): JIT, caches and pools fill up.
    const warmupEnd = Math.max(10, o.duration * 0.2);
    const afterWarmup = samples.filter((s) => s.t >= warmupEnd);
    const secondHalf = samples.filter((s) => s.t >= o.duration / 2);
    const rssSlope = slope(secondHalf.map((s) => ({ x: s.t, y: s.rss / MiB }))) * 60;
    const warmRss = afterWarmup.length > 0 ? median(afterWarmup.slice(0, 5).map((s) => s.rss)) : 0;
    const finalRss = median(samples.slice(-5).map((s) => s.rss));
    const growth = (finalRss - warmRss) / MiB;
    const gcSecondHalf = heapAfterGc.filter((h) => h.t >= o.duration / 2);
    const heapSlope = slope(gcSecondHalf.map((h) => ({ x: h.t, y: h.mib }))) * 60;
    const floorIn = (from: number, to: number): number | null => {
      const inWindow = heapAfterGc.filter((h) => h.t >= from && h.t < to).map((h) => h.mib);
      return inWindow.length > 0 ? Math.min(...inWindow) : null;
    };
    const firstFloor = floorIn(warmupEnd, warmupEnd + 60);
    const lastFloor =
      o.duration - 60 >= warmupEnd + 60 ? floorIn(o.duration - 60, o.duration) : null;
    const floorGrowth =
      firstFloor !== null && lastFloor !== null ? round(lastFloor - firstFloor, 1) : null;
    // Memory outside the JS heap: RSS less the heap V8 held at the last GC before the sample
    // (native allocations, buffers, SQLite, the code). The JS heap itself is judged by its floor.
    const outsideHeap: { t: number; mib: number }[] = [];
    let g = 0;
    for (const sample of samples) {
      while (g + 1 < heapCommitted.length && heapCommitted[g + 1].t <= sample.t) g++;
      if (heapCommitted.length > 0 && heapCommitted[g].t <= sample.t) {
        outsideHeap.push({ t: sample.t, mib: sample.rss / MiB - heapCommitted[g].mib });
      }
    }
    const medianIn = (series: { t: number; mib: number }[], from: number, to: number) => {
      const inWindow = series.filter((p) => p.t >= from && p.t < to).map((p) => p.mib);
      return inWindow.length > 0 ? median(inWindow) : null;
    };
    const growthOf = (series: { t: number; mib: number }[]): number | null => {
      const first = medianIn(series, warmupEnd, warmupEnd + 60);
      const last = medianIn(series, o.duration - 60, o.duration + 1);
      return first !== null && last !== null ? round(last - first, 1) : null;
    };
    // Which part of the RSS moved: anonymous memory (JS heap, malloc), file pages mapped,
    // shared memory (SQLite's WAL index).
    const partGrowth = (key: keyof RssParts): number | null =>
      growthOf(partSamples.map((p) => ({ t: p.t, mib: p.parts[key] / MiB })));
    const outsideHeapSlope =
      slope(outsideHeap.filter((p) => p.t >= o.duration / 2).map((p) => ({ x: p.t, y: p.mib }))) *
      60;

    const opsSummary = [...driver.stats.ops.values()].map((op) => {
      const sorted = [...op.latencies].sort((a, b) => a - b);
      return {
        op: op.kind,
        requests: op.count,
        errors: op.errors,
        p50_ms: round(percentile(sorted, 50)),
        p95_ms: round(percentile(sorted, 95)),
        p99_ms: round(percentile(sorted, 99)),
        max_ms: round(sorted[sorted.length - 1] ?? 0),
      };
    });
    const errorCount = [...driver.stats.ops.values()].reduce((s, op) => s + op.errors, 0);
    const checks = {
      zero_errors: errorCount === 0,
      counts_correct: verification.ok,
      // the workload held its rate: at most 1 % of the operations due were not started because
      // `concurrency` operations were still running
      steady_rate: driver.stats.skipped <= scheduled * 0.01,
      // judged on runs of 3 minutes or more: before, V8 is still growing its heap
      rss_slope_flat: o.duration < 180 || rssSlope <= o.maxSlopeMiBPerMin,
      rss_growth_bounded: growth <= o.maxGrowthMiB,
      // judged when there was a full GC in the first and in the last minute after warm-up
      heap_floor_flat: floorGrowth === null || floorGrowth <= o.maxHeapFloorGrowthMiB,
    };
    const summary = {
      mode: o.real ? 'real' : 'embedded',
      cache_ttl_s: o.cacheTtl,
      keep_versions_per_model: o.keepVersions || null,
      service_env: o.serviceEnv,
      heap_limit_mib: o.heapLimit || null,
      load_average_at_end: loadavg().map((x) => round(x)),
      duration_s: o.duration,
      elapsed_s: round(elapsed, 1),
      target_ops_per_s: o.rate,
      ops_scheduled: scheduled,
      ops_started: scheduled - driver.stats.skipped,
      ops_skipped_for_concurrency: driver.stats.skipped,
      requests: driver.stats.requests,
      requests_per_s: round(driver.stats.requests / elapsed, 1),
      errors: errorCount,
      reads_of_versions_deleted_meanwhile: driver.stats.goneMeanwhile,
      error_samples: driver.stats.errors.slice(0, 20),
      operations: opsSummary,
      counts: verification.details,
      count_problems: verification.problems.slice(0, 50),
      memory: {
        warmup_s: warmupEnd,
        rss_after_warmup_mib: round(warmRss / MiB, 1),
        rss_final_mib: round(finalRss / MiB, 1),
        rss_growth_mib: round(growth, 1),
        rss_max_mib: round(Math.max(...samples.map((s) => s.rss)) / MiB, 1),
        rss_slope_second_half_mib_per_min: round(rssSlope, 3),
        // [seconds since start, heap left after the full GC in MiB]
        heap_after_full_gc_mib: heapAfterGc.map((h) => [round(h.t, 1), h.mib]),
        heap_after_full_gc_slope_second_half_mib_per_min: round(heapSlope, 3),
        heap_floor_first_minute_after_warmup_mib: firstFloor,
        heap_floor_last_minute_mib: lastFloor,
        heap_floor_growth_mib: floorGrowth,
        heap_committed_growth_mib: growthOf(heapCommitted),
        outside_heap_growth_mib: growthOf(outsideHeap),
        outside_heap_slope_second_half_mib_per_min: round(outsideHeapSlope, 3),
        rss_parts_growth_mib: {
          anon: partGrowth('anon'),
          file: partGrowth('file'),
          shmem: partGrowth('shmem'),
        },
        full_gcs_second_half: gcSecondHalf.length,
        thresholds: {
          max_slope_mib_per_min: o.maxSlopeMiBPerMin,
          max_growth_mib: o.maxGrowthMiB,
          max_heap_floor_growth_mib: o.maxHeapFloorGrowthMiB,
        },
        rss_samples: samples.map((s) => [round(s.t, 1), round(s.rss / MiB, 1)]),
      },
      checks,
      pass: Object.values(checks).every(Boolean),
    };
    mkdirSync(dirname(o.out), { recursive: true });
    writeFileSync(o.out, JSON.stringify(summary, null, 2) + '\n');
    process.stdout.write(
      `load: ${summary.requests} requests (${summary.requests_per_s}/s), ${errorCount} errors; ` +
        `versions ${verification.details['versions_registered']} registered - ` +
        `${verification.details['versions_deleted']} deleted / ${verification.details['versions_listed']} listed, ` +
        `transitions ${verification.details['transitions_made']}/${verification.details['transition_history_entries']}; ` +
        `rss ${summary.memory.rss_after_warmup_mib} -> ${summary.memory.rss_final_mib} MiB, ` +
        `slope ${summary.memory.rss_slope_second_half_mib_per_min} MiB/min, ` +
        `heap floor ${firstFloor ?? '?'} -> ${lastFloor ?? '?'} MiB, ` +
        `growth by part ${JSON.stringify(summary.memory.rss_parts_growth_mib)} MiB, ` +
        `V8 heap held ${summary.memory.heap_committed_growth_mib} MiB, ` +
        `outside the heap ${summary.memory.outside_heap_growth_mib} MiB ` +
        `(${summary.memory.outside_heap_slope_second_half_mib_per_min} MiB/min)\n` +
        `checks: ${JSON.stringify(checks)}\nsummary: ${o.out}\n`,
    );
    exitCode = summary.pass ? 0 : 1;
  } finally {
    await service?.stop('SIGTERM');
    rmSync(dataDir, { recursive: true, force: true });
  }
  process.exit(exitCode);
}

function median(values: number[]): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

main().catch((err: unknown) => {
  process.stderr.write(
    `load: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
  );
  process.exit(1);
});
