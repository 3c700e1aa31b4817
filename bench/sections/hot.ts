import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { groupCpuSeconds } from '../../test/support/proc-stats';
import { Context, randomFile } from '../lib/context';
import { realBackendEnv, stackPid } from '../lib/env';
import { callOk, round } from '../lib/http';
import { load, LoadResult } from '../lib/load';
import { BASE, Child, startBare, startService, token } from '../lib/service';
import { uploadArtifact } from '../lib/upload';

type Target = [string, string, Record<string, string> | undefined, (() => number) | undefined];

export type HotRun = LoadResult & { roundsRps: number[] };

/** One pair of back-to-back loads: the service, then the bare route (or the other way round). */
export interface HotPair {
  service: number;
  bare: number;
  ratio: number;
  serviceCpuMs?: number;
  bareCpuMs?: number;
}

/**
 * The service against the bare NestJS+Express route in alternating pairs: what the 70% goal is
 * judged on, as the median of the per-pair req/s ratios (each pair shares the machine's load of
 * the moment, so a busy second weighs on both sides of one ratio, not on one side of the median).
 */
export interface HotPaired {
  what: string;
  durationS: number;
  pairs: HotPair[];
  medianRatio: number;
}

export interface HotResult {
  models: number;
  rounds: number;
  runs: HotRun[];
  ratios: Record<string, number>;
  paired?: HotPaired[];
}

const middle = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 === 1 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/** The median round of a target (by req/s), with every round's req/s. */
function median(results: LoadResult[]): HotRun {
  const sorted = [...results].sort((a, b) => a.rps - b.rps);
  const mid = sorted[Math.floor(sorted.length / 2)];
  const cpus = results
    .map((r) => r.cpuMsPerRequest)
    .filter((c): c is number => c !== undefined)
    .sort((a, b) => a - b);
  return {
    ...mid,
    cpuMsPerRequest: cpus.length > 0 ? cpus[Math.floor(cpus.length / 2)] : undefined,
    roundsRps: results.map((r) => r.rps),
  };
}

/** CPU seconds of the stack's MLflow server (its process group: uvicorn and its workers). */
function mlflowCpuProbe(): (() => number) | undefined {
  const pgid = stackPid('mlflow');
  return pgid === undefined ? undefined : () => groupCpuSeconds(pgid);
}

/** The MLflow name of a tenant's model (see MlflowHttpRegistry: `<ns>~<tenant>~<name>`). */
export function mlflowName(ctx: Context, tenant: string, name: string): string {
  return `bench-${ctx.runId}~${tenant}~${name}`;
}

/**
 * Registers `count` models with one version each through the service (small artifacts), so
 * the hot and cold parts have something to read.
 */
export async function seedModels(
  ctx: Context,
  svc: Child,
  tenant: string,
  count: number,
): Promise<string[]> {
  const editor = await token(tenant, ['editor']);
  const file = randomFile(ctx, 'small.pkl', 64 * 1024);
  const names: string[] = [];
  for (let i = 0; i < count; i++) {
    const name = `m-${String(i).padStart(3, '0')}`;
    const { manifest } = await uploadArtifact(svc.url, editor, file);
    await callOk('POST', `${svc.url}${BASE}/models`, {
      headers: { authorization: `Bearer ${editor}` },
      body: { name, artifact_id: manifest.artifact_id, description: 'bench' },
    });
    names.push(name);
  }
  return names;
}

/**
 * 1. Hot reads: get version and list models, cached, on the service (real MLflow behind it),
 * against MLflow's own endpoints and a bare NestJS app (Express, then Fastify) answering the
 * same JSON. Each target gets a warm-up, then a measured run, one after the other.
 */
export async function hotReads(ctx: Context, tenant: string, models: string[]): Promise<HotResult> {
  const stack = ctx.stack!;
  const warm = ctx.smoke ? 1 : 2;
  const run = ctx.smoke ? 1 : 3;
  const rounds = ctx.smoke ? 1 : 3;
  const connections = 10;
  const viewer = await token(tenant, ['viewer']);
  const auth = { authorization: `Bearer ${viewer}` };
  const children: Child[] = [];
  const runs: HotRun[] = [];
  const paired: HotPaired[] = [];
  try {
    const svc = await startService('service', { env: realBackendEnv(stack, ctx.runId) });
    children.push(svc);
    const quiet = await startService('service-warn', {
      env: { ...realBackendEnv(stack, ctx.runId), LOG_LEVEL: 'warn' },
    });
    children.push(quiet);
    const versionPath = `${BASE}/models/${models[0]}/versions/1`;
    const listPath = `${BASE}/models?max_results=100`;
    const version = await callOk('GET', `${svc.url}${versionPath}`, { headers: auth });
    const list = await callOk('GET', `${svc.url}${listPath}`, { headers: auth });
    const withoutTiming = (o: object): object => {
      const copy: Record<string, unknown> = { ...o };
      delete copy.__ms;
      return copy;
    };
    const versionJson = withoutTiming(version);
    const listJson = withoutTiming(list);
    const jsonFile = join(ctx.tmp, 'bare-answers.json');
    writeFileSync(jsonFile, JSON.stringify({ version: versionJson, list: listJson }));
    const express = await startBare('express', jsonFile);
    children.push(express);
    const fastify = await startBare('fastify', jsonFile);
    children.push(fastify);

    const ml = stack.mlflowUri;
    const mlVersion =
      `${ml}/api/2.0/mlflow/model-versions/get?name=` +
      `${encodeURIComponent(mlflowName(ctx, tenant, models[0]))}&version=1`;
    const mlList =
      `${ml}/api/2.0/mlflow/registered-models/search?max_results=100&filter=` +
      encodeURIComponent(`name LIKE '${mlflowName(ctx, tenant, '')}%'`);
    // MLflow answers the same question: sanity-check that it finds the same models.
    const mlListed = await callOk<{ registered_models?: unknown[] }>('GET', mlList);
    if ((mlListed.registered_models ?? []).length !== models.length) {
      throw new Error(
        `MLflow lists ${(mlListed.registered_models ?? []).length} models, expected ${models.length}`,
      );
    }

    const mlflowCpu = mlflowCpuProbe();
    const svcCpu = (): number => svc.cpuSeconds();
    const quietCpu = (): number => quiet.cpuSeconds();
    const expressCpu = (): number => express.cpuSeconds();
    const fastifyCpu = (): number => fastify.cpuSeconds();
    const targets: Target[] = [
      ['get version: service', svc.url + versionPath, auth, svcCpu],
      ['get version: service LOG_LEVEL=warn', quiet.url + versionPath, auth, quietCpu],
      ['get version: MLflow model-versions/get', mlVersion, undefined, mlflowCpu],
      ['get version: bare NestJS+Express', express.url + versionPath, undefined, expressCpu],
      ['get version: bare NestJS+Fastify', fastify.url + versionPath, undefined, fastifyCpu],
      [
        'get version: bare NestJS+Express + JWT guard',
        `${express.url}/auth${versionPath}`,
        auth,
        expressCpu,
      ],
      ['list models: service', svc.url + listPath, auth, svcCpu],
      ['list models: service LOG_LEVEL=warn', quiet.url + listPath, auth, quietCpu],
      ['list models: MLflow registered-models/search', mlList, undefined, mlflowCpu],
      ['list models: bare NestJS+Express', express.url + listPath, undefined, expressCpu],
      ['list models: bare NestJS+Fastify', fastify.url + listPath, undefined, fastifyCpu],
    ];
    // One warm-up each, then rounds: every target once per round, so that the machine's
    // background load, which changes by the minute, weighs on all of them alike.
    for (const [label, url, headers] of targets) {
      await load(`${label} (warm-up)`, url, { durationS: warm, connections, headers });
    }
    const samples = new Map<string, LoadResult[]>();
    for (let round = 0; round < rounds; round++) {
      for (const [label, url, headers, cpu] of targets) {
        const result = await load(label, url, { durationS: run, connections, headers, cpu });
        samples.set(label, [...(samples.get(label) ?? []), result]);
      }
    }
    // The goal's pair, side by side: service and bare Express alternate in short loads, the
    // order flipped every pair so neither side always runs on the warmer or quieter moment.
    const pairCount = ctx.smoke ? 1 : 8;
    const pairS = ctx.smoke ? 1 : 2;
    for (const [what, path] of [
      ['get version', versionPath],
      ['list models', listPath],
    ] as const) {
      const pairs: HotPair[] = [];
      for (let i = 0; i < pairCount; i++) {
        const measure = (
          url: string,
          headers: Record<string, string> | undefined,
          cpu: () => number,
        ) => load(`${what}: pair ${i + 1}`, url, { durationS: pairS, connections, headers, cpu });
        let s: LoadResult;
        let b: LoadResult;
        if (i % 2 === 0) {
          s = await measure(svc.url + path, auth, svcCpu);
          b = await measure(express.url + path, undefined, expressCpu);
        } else {
          b = await measure(express.url + path, undefined, expressCpu);
          s = await measure(svc.url + path, auth, svcCpu);
        }
        pairs.push({
          service: s.rps,
          bare: b.rps,
          ratio: round(s.rps / b.rps),
          serviceCpuMs: s.cpuMsPerRequest,
          bareCpuMs: b.cpuMsPerRequest,
        });
      }
      const result: HotPaired = {
        what,
        durationS: pairS,
        pairs,
        medianRatio: round(middle(pairs.map((p) => p.ratio))),
      };
      ctx.log(
        `  ${what}: service / bare Express in ${pairCount} pairs: median ${result.medianRatio} ` +
          `(${pairs.map((p) => p.ratio).join(', ')})`,
      );
      paired.push(result);
    }
    for (const [label] of targets) {
      const result = median(samples.get(label)!);
      ctx.log(
        `  ${label}: ${result.rps} req/s, p50 ${result.p50} ms, p99 ${result.p99} ms, ` +
          `CPU ${result.cpuMsPerRequest ?? '?'} ms/request (rounds: ${result.roundsRps.join(', ')})`,
      );
      runs.push(result);
    }
  } finally {
    for (const c of children) await c.stop();
  }
  const rps = (label: string): number => runs.find((r) => r.label === label)?.rps ?? NaN;
  const cpuOf = (label: string): number =>
    runs.find((r) => r.label === label)?.cpuMsPerRequest ?? NaN;
  const ratios: Record<string, number> = {};
  for (const what of ['get version', 'list models']) {
    const mlflowLabel =
      what === 'get version'
        ? 'get version: MLflow model-versions/get'
        : 'list models: MLflow registered-models/search';
    ratios[`${what}: service / MLflow`] = round(rps(`${what}: service`) / rps(mlflowLabel));
    ratios[`${what}: service / bare Express`] = round(
      rps(`${what}: service`) / rps(`${what}: bare NestJS+Express`),
    );
    ratios[`${what}: service LOG_LEVEL=warn / bare Express`] = round(
      rps(`${what}: service LOG_LEVEL=warn`) / rps(`${what}: bare NestJS+Express`),
    );
    ratios[`${what}: bare Fastify / bare Express`] = round(
      rps(`${what}: bare NestJS+Fastify`) / rps(`${what}: bare NestJS+Express`),
    );
  }
  ratios['get version: bare Express with JWT guard / without'] = round(
    rps('get version: bare NestJS+Express + JWT guard') / rps('get version: bare NestJS+Express'),
  );
  ratios['get version: CPU per request, service / bare Express'] = round(
    cpuOf('get version: service') / cpuOf('get version: bare NestJS+Express'),
  );
  ratios['list models: CPU per request, service / bare Express'] = round(
    cpuOf('list models: service') / cpuOf('list models: bare NestJS+Express'),
  );
  for (const p of paired) {
    ratios[`${p.what}: service / bare Express, median of ${p.pairs.length} alternating pairs`] =
      p.medianRatio;
  }
  return { models: models.length, rounds, runs, ratios, paired };
}
