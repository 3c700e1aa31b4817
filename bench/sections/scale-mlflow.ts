import { ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client } from 'pg';
import { freePort } from '../../test/support/service-process';
import { stackDir } from '../../test/support/stack';
import { Context, randomFile } from '../lib/context';
import { realBackendEnv } from '../lib/env';
import { call, callOk, round, summarize, LatencySummary } from '../lib/http';
import { Child, startService, token } from '../lib/service';
import { readsAtScale, registerSeries, RegisterSeries, ScaleResult, scaleModelName } from './scale';

export interface ScaleMlflowResult extends ScaleResult {
  /** The same reads asked of MLflow directly (sequential). */
  mlflowDirect: { searchWalk: LatencySummary & { pages: number }; getVersion: LatencySummary };
}

/** An MLflow server of the bench's own, on a database of its own in the stack's PostgreSQL. */
async function startMlflow(
  ctx: Context,
  dsn: string,
): Promise<{ url: string; proc: ChildProcess; stop: () => Promise<void> }> {
  const stack = ctx.stack!;
  const mlflow = join(stackDir(), 'venv', 'bin', 'mlflow');
  if (!existsSync(mlflow)) throw new Error(`${mlflow} is missing: the stack's venv is needed`);
  const port = await freePort();
  const proc = spawn(
    mlflow,
    [
      'server',
      '--host',
      '127.0.0.1',
      '--port',
      String(port),
      '--workers',
      '1',
      '--backend-store-uri',
      dsn,
      '--no-serve-artifacts',
      '--default-artifact-root',
      `s3://${stack.s3Bucket}/bench-${ctx.runId}/mlflow`,
    ],
    {
      detached: true, // its own process group: uvicorn's workers go with it
      stdio: ['ignore', 'ignore', 'ignore'],
      env: {
        ...process.env,
        MLFLOW_SERVER_ENABLE_JOB_EXECUTION: 'false',
        MLFLOW_DISABLE_TELEMETRY: 'true',
        DO_NOT_TRACK: 'true',
        MLFLOW_S3_ENDPOINT_URL: stack.s3Endpoint,
        AWS_ACCESS_KEY_ID: stack.s3AccessKey,
        AWS_SECRET_ACCESS_KEY: stack.s3SecretKey,
        AWS_DEFAULT_REGION: 'us-east-1',
      },
    },
  );
  let exited = false;
  proc.on('exit', () => (exited = true));
  const stop = async (): Promise<void> => {
    if (exited) return;
    try {
      process.kill(-proc.pid!, 'SIGTERM');
    } catch {
      return;
    }
    for (let i = 0; i < 50 && !exited; i++) await sleep(200);
    if (!exited) process.kill(-proc.pid!, 'SIGKILL');
  };
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 240; i++) {
    if (exited) throw new Error('the bench MLflow server exited during startup');
    const r = await call('GET', `${url}/health`).catch(() => undefined);
    if (r?.status === 200) return { url, proc, stop };
    await sleep(500);
  }
  await stop();
  throw new Error('the bench MLflow server did not start within 120 s');
}

/**
 * Seeds MLflow's own tables in bulk (server-side generate_series): `models` registered models
 * named as the service names them (`<namespace>~<tenant>~<model>`) with its ownership tags,
 * `perModel` versions each with the service's version tags.
 */
async function seedMlflow(
  pg: Client,
  ns: string,
  tenant: string,
  models: number,
  perModel: number,
): Promise<void> {
  const prefix = `${ns}~${tenant}~s-`;
  const now = Date.now();
  await pg.query('BEGIN');
  await pg.query(
    `INSERT INTO registered_models (name, creation_time, last_updated_time, description)
     SELECT $1 || lpad(i::text, 5, '0'), $2, $2, 'seeded' FROM generate_series(0, $3 - 1) i`,
    [prefix, now, models],
  );
  for (const [key, value] of [
    ['registry.tenant', `'${tenant}'`],
    ['registry.namespace', `'${ns}'`],
    ['registry.model_uid', `'seed-uid-' || i`],
  ]) {
    await pg.query(
      `INSERT INTO registered_model_tags (key, value, name)
       SELECT $1, ${value}, $2 || lpad(i::text, 5, '0') FROM generate_series(0, $3 - 1) i`,
      [key, prefix, models],
    );
  }
  await pg.query(
    `INSERT INTO model_versions (name, version, creation_time, last_updated_time, description, user_id,
       current_stage, source, run_id, status, status_message, run_link, storage_location)
     SELECT $1 || lpad(i::text, 5, '0'), v, $2, $2, '', '',
       CASE WHEN v = $4 THEN 'Production' WHEN v = $4 - 1 THEN 'Staging' WHEN v < 3 THEN 'Archived' ELSE 'None' END,
       's3://seed/' || i || '/v' || v, '', 'READY', '', '', ''
     FROM generate_series(0, $3 - 1) i, generate_series(1, $4) v`,
    [prefix, now, models, perModel],
  );
  for (const [key, value] of [
    ['registry.created_by', `'seed'`],
    ['registry.artifact_id', `'seed-' || i || '-' || v`],
  ]) {
    await pg.query(
      `INSERT INTO model_version_tags (key, value, name, version)
       SELECT $1, ${value}, $2 || lpad(i::text, 5, '0'), v
       FROM generate_series(0, $3 - 1) i, generate_series(1, $4) v`,
      [key, prefix, models, perModel],
    );
  }
  await pg.query('COMMIT');
  await pg.query('ANALYZE');
}

/**
 * 4. Scale on MLflow: the bench's own MLflow server on a fresh database of the stack's
 * PostgreSQL (the shared MLflow stays clean), seeded in bulk, read through the service (cache
 * off) and directly; registrations before the seed (empty) and after.
 */
export async function scaleMlflow(
  ctx: Context,
  models: number,
  perModel: number,
): Promise<ScaleMlflowResult> {
  const stack = ctx.stack!;
  const dbName = `mlflow_bench_${ctx.runId}`;
  const admin = new Client({ connectionString: stack.databaseUrl });
  await admin.connect();
  const dbUrl = new URL(stack.databaseUrl);
  dbUrl.pathname = `/${dbName}`;
  let mlflow: Awaited<ReturnType<typeof startMlflow>> | undefined;
  let svc: Child | undefined;
  const tenant = 'scale';
  const ns = `bench-${ctx.runId}`;
  const registrations = ctx.smoke ? 3 : 30;
  try {
    await admin.query(`CREATE DATABASE ${dbName}`);
    mlflow = await startMlflow(
      ctx,
      `postgresql+psycopg2://${dbUrl.username}:${dbUrl.password}@${dbUrl.host}${dbUrl.pathname}`,
    );
    const env = {
      ...realBackendEnv(stack, ctx.runId),
      MLFLOW_TRACKING_URI: mlflow.url,
      ML_REGISTRY_CACHE_TTL: '0',
    };
    svc = await startService('service-scale-mlflow', { env });
    const editor = await token(tenant, ['editor']);
    const viewer = await token(tenant, ['viewer']);
    const small = randomFile(ctx, 'scale-ml.pkl', 16 * 1024);
    const register: RegisterSeries[] = [];
    register.push(await registerSeries(svc, editor, small, 'grow-empty', registrations, 'empty'));

    const pg = new Client({ connectionString: dbUrl.toString() });
    await pg.connect();
    const started = performance.now();
    try {
      await seedMlflow(pg, ns, tenant, models, perModel);
    } finally {
      await pg.end();
    }
    const seedSeconds = round((performance.now() - started) / 1000, 1);
    ctx.log(
      `  seeded MLflow with ${models} models, ${models * perModel} versions in ${seedSeconds} s`,
    );

    const reads = await readsAtScale(ctx, svc, viewer, models, perModel, 300, ctx.smoke ? 3 : 20);
    ctx.log(
      `  list walk p99 ${reads.listWalk.p99} ms (${reads.listWalk.pages} pages); get version p99 ${reads.getVersionSequential.p99} ms`,
    );
    // The same reads straight at MLflow.
    const walk: number[] = [];
    let next: string | undefined;
    do {
      const q = next === undefined ? '' : `&page_token=${encodeURIComponent(next)}`;
      const page = await callOk<{ next_page_token?: string }>(
        'GET',
        `${mlflow.url}/api/2.0/mlflow/registered-models/search?max_results=100&filter=` +
          encodeURIComponent(
            `name LIKE '${ns}~${tenant}~%' AND tags.\`registry.tenant\` = '${tenant}'`,
          ) +
          q,
      );
      walk.push(page.__ms);
      next = page.next_page_token;
    } while (next !== undefined && walk.length < (ctx.smoke ? 3 : 20));
    const direct: number[] = [];
    for (let i = 0; i < (ctx.smoke ? 50 : 300); i++) {
      const name = `${ns}~${tenant}~${scaleModelName(Math.floor(Math.random() * models))}`;
      const v = 1 + Math.floor(Math.random() * perModel);
      direct.push(
        (
          await callOk(
            'GET',
            `${mlflow.url}/api/2.0/mlflow/model-versions/get?name=${encodeURIComponent(name)}&version=${v}`,
          )
        ).__ms,
      );
    }
    register.push(
      await registerSeries(
        svc,
        editor,
        small,
        'grow-seeded',
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
    for (const r of register) {
      ctx.log(
        `  register into ${r.model} on ${r.store}: p50 ${r.all.p50} ms (first third ${r.firstThirdP50}, last third ${r.lastThirdP50})`,
      );
    }
    return {
      backend: 'MLflow 3.17 on PostgreSQL',
      models,
      versions: models * perModel,
      seedSeconds,
      ...reads,
      register,
      mlflowDirect: {
        searchWalk: { ...summarize(walk), pages: walk.length },
        getVersion: summarize(direct),
      },
    };
  } finally {
    await svc?.stop();
    await mlflow?.stop();
    await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`).catch(() => undefined);
    await admin.end();
  }
}
