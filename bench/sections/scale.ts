import BetterSqlite3 from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Context, durations, randomFile } from '../lib/context';
import { callOk, round, summarize, LatencySummary } from '../lib/http';
import { load, LoadResult } from '../lib/load';
import { BASE, Child, startService, token } from '../lib/service';
import { uploadArtifact } from '../lib/upload';

export interface ScaleResult {
  backend: string;
  models: number;
  versions: number;
  seedSeconds: number;
  listFirstPageLoad: LoadResult;
  listWalk: LatencySummary & { pages: number };
  getVersionSequential: LatencySummary;
  getVersionLoad: LoadResult;
  register: RegisterSeries[];
  /** The same reads with the default configuration (cache on, TTL 300 s): embedded only. */
  cached?: Pick<
    ScaleResult,
    'listFirstPageLoad' | 'listWalk' | 'getVersionSequential' | 'getVersionLoad'
  >;
}

export interface RegisterSeries {
  store: string;
  model: string;
  all: LatencySummary;
  firstThirdP50: number;
  lastThirdP50: number;
}

export const scaleModelName = (i: number): string => `s-${String(i).padStart(5, '0')}`;

/**
 * Seeds the embedded SQLite store (DATA_DIR/registry.db, schema made by the service's own
 * migrations at its first boot) with `models` models of `perModel` versions each, in bulk,
 * straight into the tables: runs with metrics and parameters, version tags, the registration
 * history, as registrations through the service would have left them.
 */
function seedSqlite(file: string, tenant: string, models: number, perModel: number): void {
  const db = new BetterSqlite3(file);
  db.pragma('journal_mode = WAL');
  const now = Date.now();
  const insModel = db.prepare(
    'INSERT INTO reg_models (tenant_id, name, description, created_at, last_updated_at, next_version) VALUES (?, ?, ?, ?, ?, ?)',
  );
  const insModelTag = db.prepare(
    'INSERT INTO reg_model_tags (model_id, key, value) VALUES (?, ?, ?)',
  );
  const insVersion = db.prepare(
    'INSERT INTO reg_versions (model_id, version, stage, description, source, run_id, created_at, last_updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
  );
  const insVersionTag = db.prepare(
    'INSERT INTO reg_version_tags (model_id, version, key, value) VALUES (?, ?, ?, ?)',
  );
  const insRun = db.prepare(
    'INSERT INTO reg_runs (run_id, tenant_id, created_at) VALUES (?, ?, ?)',
  );
  const insMetric = db.prepare('INSERT INTO reg_run_metrics (run_id, key, value) VALUES (?, ?, ?)');
  const insParam = db.prepare('INSERT INTO reg_run_params (run_id, key, value) VALUES (?, ?, ?)');
  const insHistory = db.prepare(
    `INSERT INTO history (tenant_id, model_name, model_uid, version, event, from_stage, to_stage, actor, at)
     VALUES (?, ?, ?, ?, 'registered', NULL, 'none', 'seed', ?)`,
  );
  const seed = db.transaction(() => {
    for (let m = 0; m < models; m++) {
      const name = scaleModelName(m);
      const uid = `seed-uid-${m}`;
      const id = Number(
        insModel.run(tenant, name, 'seeded', now - 1e6 + m, now - 1e6 + m, perModel + 1)
          .lastInsertRowid,
      );
      insModelTag.run(id, 'registry.model_uid', uid);
      insModelTag.run(id, 'team', 'bench');
      for (let v = 1; v <= perModel; v++) {
        const runId = `r${m.toString(16).padStart(8, '0')}${v.toString(16).padStart(24, '0')}`;
        const stage =
          v === perModel
            ? 'production'
            : v === perModel - 1
              ? 'staging'
              : v < 3
                ? 'archived'
                : 'none';
        insRun.run(runId, tenant, now);
        insMetric.run(runId, 'accuracy', 0.8 + v / 1000);
        insMetric.run(runId, 'loss', 0.2 - v / 1000);
        insParam.run(runId, 'max_depth', JSON.stringify(v));
        insVersion.run(id, v, stage, '', `file:///seed/${tenant}/${name}/v${v}/`, runId, now, now);
        insVersionTag.run(id, v, 'registry.created_by', 'seed');
        insVersionTag.run(id, v, 'registry.artifact_id', `seed-${m}-${v}`);
        insHistory.run(tenant, name, uid, v, now);
      }
    }
  });
  seed();
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.exec('ANALYZE');
  db.close();
}

/** Registers `count` versions of `model` (uploads untimed), timing each POST /models. */
export async function registerSeries(
  svc: Child,
  editor: string,
  file: string,
  model: string,
  count: number,
  store: string,
): Promise<RegisterSeries> {
  const ms: number[] = [];
  for (let i = 0; i < count; i++) {
    const { manifest } = await uploadArtifact(svc.url, editor, file);
    const started = performance.now();
    await callOk('POST', `${svc.url}${BASE}/models`, {
      headers: { authorization: `Bearer ${editor}` },
      body: { name: model, artifact_id: manifest.artifact_id },
    });
    ms.push(performance.now() - started);
  }
  const third = Math.max(1, Math.floor(count / 3));
  return {
    store,
    model,
    all: summarize(ms),
    firstThirdP50: summarize(ms.slice(0, third)).p50,
    lastThirdP50: summarize(ms.slice(-third)).p50,
  };
}

/** Reads at scale through a running service: list pages, get version, sequential and loaded. */
export async function readsAtScale(
  ctx: Context,
  svc: Child,
  viewer: string,
  models: number,
  perModel: number,
  fullSamples = 1000,
  /** Walk at most this many pages (a slow backend would take minutes for all of them). */
  maxPages = Infinity,
): Promise<
  Pick<ScaleResult, 'listFirstPageLoad' | 'listWalk' | 'getVersionSequential' | 'getVersionLoad'>
> {
  const { warm, run } = durations(ctx);
  const h = { authorization: `Bearer ${viewer}` };
  // Every page of the listing, in order, following next_page_token.
  const pageMs: number[] = [];
  let next: string | undefined;
  let seen = 0;
  const tokens: string[] = [];
  do {
    const q = next === undefined ? '' : `&page_token=${encodeURIComponent(next)}`;
    const page = await callOk<{ models: unknown[]; next_page_token?: string }>(
      'GET',
      `${svc.url}${BASE}/models?max_results=100${q}`,
      { headers: h },
    );
    pageMs.push(page.__ms);
    seen += page.models.length;
    next = page.next_page_token;
    if (next !== undefined) tokens.push(encodeURIComponent(next));
  } while (next !== undefined && pageMs.length < maxPages);
  if (seen < Math.min(models, maxPages * 100))
    throw new Error(`the listing walked ${seen} models, expected ${models}`);
  const samples = ctx.smoke ? 50 : fullSamples;
  const versionMs: number[] = [];
  for (let i = 0; i < samples; i++) {
    const m = scaleModelName(Math.floor(Math.random() * models));
    const v = 1 + Math.floor(Math.random() * perModel);
    versionMs.push(
      (await callOk('GET', `${svc.url}${BASE}/models/${m}/versions/${v}`, { headers: h })).__ms,
    );
  }
  // A page from the middle of the listing, by the token the service itself handed out.
  const middle = tokens[Math.floor(tokens.length / 2)];
  const listUrl =
    `${svc.url}${BASE}/models?max_results=100` +
    (middle === undefined ? '' : `&page_token=${middle}`);
  await load('list page (warm-up)', listUrl, { durationS: warm, connections: 10, headers: h });
  const listFirstPageLoad = await load('list page, 10 connections', listUrl, {
    durationS: run,
    connections: 10,
    headers: h,
  });
  const versionUrl = `${svc.url}${BASE}/models/${scaleModelName(Math.floor(models / 3))}/versions/${perModel}`;
  const getVersionLoad = await load('get version, 10 connections', versionUrl, {
    durationS: run,
    connections: 10,
    headers: h,
  });
  return {
    listFirstPageLoad,
    listWalk: { ...summarize(pageMs), pages: pageMs.length },
    getVersionSequential: summarize(versionMs),
    getVersionLoad,
  };
}

/**
 * 4. Scale on the embedded default (SQLite): one tenant with `models` x `perModel` versions,
 * cache off (ML_REGISTRY_CACHE_TTL=0) so every read reaches the store. Then registrations on
 * that store against the same on an empty store.
 */
export async function scaleEmbedded(
  ctx: Context,
  models: number,
  perModel: number,
): Promise<ScaleResult> {
  const tenant = 'scale';
  const viewer = await token(tenant, ['viewer']);
  const editor = await token(tenant, ['editor']);
  const small = randomFile(ctx, 'scale.pkl', 16 * 1024);
  const registrations = ctx.smoke ? 3 : 30;
  const dataDir = mkdtempSync(join(ctx.tmp, 'scale-'));
  const emptyDir = mkdtempSync(join(ctx.tmp, 'empty-'));
  let svc: Child | undefined;
  try {
    // First boot makes the schema (the service's migrations); then the bulk seed.
    svc = await startService('service-migrate', { dataDir });
    await svc.stop();
    const started = performance.now();
    seedSqlite(join(dataDir, 'registry.db'), tenant, models, perModel);
    const seedSeconds = round((performance.now() - started) / 1000, 1);
    ctx.log(`  seeded ${models} models, ${models * perModel} versions in ${seedSeconds} s`);

    svc = await startService('service-scale', { dataDir, env: { ML_REGISTRY_CACHE_TTL: '0' } });
    const reads = await readsAtScale(ctx, svc, viewer, models, perModel);
    ctx.log(
      `  list walk p99 ${reads.listWalk.p99} ms (${reads.listWalk.pages} pages); list page under load p99 ` +
        `${reads.listFirstPageLoad.p99} ms; get version p99 ${reads.getVersionSequential.p99} ms`,
    );
    await svc.stop();
    // The embedded default: the cache on. The walk meets every page once (all misses), the
    // loaded page and the versions are asked again and again (hits after the first).
    svc = await startService('service-scale-cached', { dataDir });
    const cached = await readsAtScale(ctx, svc, viewer, models, perModel);
    ctx.log(
      `  cache on: list walk p99 ${cached.listWalk.p99} ms; list page under load p99 ` +
        `${cached.listFirstPageLoad.p99} ms; get version p99 ${cached.getVersionSequential.p99} ms`,
    );
    await svc.stop();
    svc = await startService('service-scale', { dataDir, env: { ML_REGISTRY_CACHE_TTL: '0' } });
    const register: RegisterSeries[] = [];
    register.push(
      await registerSeries(
        svc,
        editor,
        small,
        'grow-new',
        registrations,
        `seeded (${models * perModel} versions)`,
      ),
    );
    register.push(
      await registerSeries(
        svc,
        editor,
        small,
        scaleModelName(Math.floor(models / 2)),
        registrations,
        `seeded (${models * perModel} versions)`,
      ),
    );
    await svc.stop();
    svc = await startService('service-empty', {
      dataDir: emptyDir,
      env: { ML_REGISTRY_CACHE_TTL: '0' },
    });
    register.push(await registerSeries(svc, editor, small, 'grow-new', registrations, 'empty'));
    await svc.stop();
    svc = undefined;
    for (const r of register) {
      ctx.log(
        `  register into ${r.model} on ${r.store}: p50 ${r.all.p50} ms (first third ${r.firstThirdP50}, last third ${r.lastThirdP50})`,
      );
    }
    return {
      backend: 'embedded (SQLite)',
      models,
      versions: models * perModel,
      seedSeconds,
      ...reads,
      register,
      cached,
    };
  } finally {
    await svc?.stop();
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(emptyDir, { recursive: true, force: true });
  }
}
