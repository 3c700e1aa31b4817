/**
 * The workload of the load run: a driver that keeps the state the service should have
 * (models, versions and their stages, transitions and approvals made) and a mix of operations,
 * run at a steady, bounded rate.
 */
import { randomBytes } from 'node:crypto';

export const BASE = '/api/v1/ml/registry';

export type Stage = 'none' | 'staging' | 'production' | 'archived';

export interface ModelState {
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

export class Stats {
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

export class Driver {
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
    readonly tokens: { editor: string; approver: string; viewer: string; admin: string },
    private readonly keepVersions: number,
  ) {}

  /** One HTTP call; counts it, checks its status, returns the body (undefined on a mismatch). */
  async request<T = Record<string, unknown>>(
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
}

/**
 * Starts `driver.step()` every 1/rate seconds from `startedAt` for `durationS`, at most
 * `concurrency` at a time (a step due while that many run is skipped and counted), calls
 * `progress` every 10 s or so, and resolves once every step started has ended, with the number
 * of steps that were due.
 */
export async function driveAtRate(
  driver: Driver,
  pace: { startedAt: number; rate: number; durationS: number; concurrency: number },
  progress: () => void,
): Promise<number> {
  const started = pace.startedAt;
  let inFlight = 0;
  const all = new Set<Promise<void>>();
  const interval = 1000 / pace.rate;
  const end = started + pace.durationS * 1000;
  let lastReport = started;
  let scheduled = 0;
  for (let i = 0; ; i++) {
    const due = started + i * interval;
    if (due >= end) break;
    scheduled++;
    const wait = due - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    if (inFlight >= pace.concurrency) {
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
      progress();
    }
  }
  await Promise.all([...all]);
  return scheduled;
}
