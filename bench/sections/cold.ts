import { performance } from 'node:perf_hooks';
import { RecordedCall, RecordingProxy } from '../../test/support/recording-proxy';
import { Context, randomFile } from '../lib/context';
import { realBackendEnv } from '../lib/env';
import { agent, call, callOk, percentile, round, summarize, LatencySummary } from '../lib/http';
import { BASE, Child, startService, token } from '../lib/service';
import { uploadArtifact } from '../lib/upload';
import { mlflowName } from './hot';

export interface ColdOp {
  op: string;
  /** The MLflow calls the service made for one such request (method and path). */
  mlflowCalls: string[];
  service: LatencySummary;
  mlflowDirect: LatencySummary;
  /** (service p50 - direct p50) / direct p50. */
  addedAtP50: number;
  /** Where a registration's time goes (register only). */
  timeline?: RegisterTimeline;
}

/**
 * A registration split by its backend calls, timed by recording proxies in front of MLflow and
 * S3 (medians over `n` registrations). The parts add up to the whole request: MLflow calls (wall
 * time while at least one runs), S3 calls outside them, and the rest, the service's own (its
 * database, CPU, the request in and out). Per call, its time as seen from inside the service
 * against the same call replayed alone from the bench (the replays of the timed run).
 */
export interface RegisterTimeline {
  n: number;
  totalP50: number;
  mlflowWallP50: number;
  s3OutsideMlflowP50: number;
  ownP50: number;
  /** From the request to its first backend call, and from its last MLflow call to the answer. */
  leadP50: number;
  tailP50: number;
  calls: { call: string; perRequest: number; insideP50: number; aloneP50?: number }[];
}

interface RecordedRequest {
  t0: number;
  t1: number;
  mlflow: RecordedCall[];
  s3: RecordedCall[];
}

/** Length of the union of intervals, clipped to [from, to]. */
function covered(intervals: [number, number][], from: number, to: number): number {
  const sorted = intervals
    .map(([a, b]): [number, number] => [Math.max(a, from), Math.min(b, to)])
    .filter(([a, b]) => b > a)
    .sort((x, y) => x[0] - y[0]);
  let total = 0;
  let [start, end] = [NaN, NaN];
  for (const [a, b] of sorted) {
    if (!(a <= end)) {
      if (end > start) total += end - start;
      [start, end] = [a, b];
    } else if (b > end) {
      end = b;
    }
  }
  if (end > start) total += end - start;
  return total;
}

const mlflowLabel = (c: RecordedCall): string =>
  `${c.method} ${c.path.split('?')[0].replace('/api/2.0/mlflow/', '')}`;

const s3Label = (c: RecordedCall): string => {
  if (c.copy) return 'S3 copy object';
  if (c.method === 'POST' && /[?&]delete(=|&|$)/.test(c.path)) return 'S3 delete objects';
  return `S3 ${c.method} object`;
};

function timelineOf(requests: RecordedRequest[], alone: Map<string, number[]>): RegisterTimeline {
  const p50 = (xs: number[]): number => round(percentile(xs, 50));
  const parts = requests.map((r) => {
    const m = r.mlflow.map((c): [number, number] => [c.startedAt, c.endedAt]);
    const all = [...m, ...r.s3.map((c): [number, number] => [c.startedAt, c.endedAt])];
    const mlflowWall = covered(m, r.t0, r.t1);
    const backend = covered(all, r.t0, r.t1);
    return {
      total: r.t1 - r.t0,
      mlflowWall,
      s3Outside: backend - mlflowWall,
      own: r.t1 - r.t0 - backend,
      lead: Math.min(...all.map(([a]) => a)) - r.t0,
      tail: r.t1 - Math.max(...m.map(([, b]) => b)),
    };
  });
  const inside = new Map<string, number[]>();
  for (const r of requests) {
    for (const c of r.mlflow)
      inside.set(mlflowLabel(c), [...(inside.get(mlflowLabel(c)) ?? []), c.endedAt - c.startedAt]);
    for (const c of r.s3)
      inside.set(s3Label(c), [...(inside.get(s3Label(c)) ?? []), c.endedAt - c.startedAt]);
  }
  return {
    n: requests.length,
    totalP50: p50(parts.map((x) => x.total)),
    mlflowWallP50: p50(parts.map((x) => x.mlflowWall)),
    s3OutsideMlflowP50: p50(parts.map((x) => x.s3Outside)),
    ownP50: p50(parts.map((x) => x.own)),
    leadP50: p50(parts.map((x) => x.lead)),
    tailP50: p50(parts.map((x) => x.tail)),
    calls: [...inside.entries()].map(([call, ms]) => ({
      call,
      perRequest: round(ms.length / requests.length, 1),
      insideP50: p50(ms),
      aloneP50: alone.has(call) ? p50(alone.get(call)!) : undefined,
    })),
  };
}

/** Replays recorded MLflow calls straight at MLflow, one after the other; total and per-call ms. */
async function replay(
  mlflowUri: string,
  calls: RecordedCall[],
  rename: (s: string) => string,
): Promise<{ ms: number; perCall: number[] }> {
  // A replayed model-versions/create makes a version with its own number: later calls of the
  // sequence that name the recorded number name the replay's instead.
  let version: [string, string] | undefined;
  const map = (s: string): string => {
    const renamed = rename(s);
    if (version === undefined) return renamed;
    const [from, to] = version;
    return renamed
      .replace(new RegExp(`([?&]version=)${from}(?=&|$)`), `$1${to}`)
      .replace(new RegExp(`("version":\\s*"?)${from}(?="|,|})`), `$1${to}`);
  };
  const started = performance.now();
  const perCall: number[] = [];
  for (const c of calls) {
    const body = c.body === '' ? undefined : (JSON.parse(map(c.body)) as unknown);
    const reply = await call(c.method, mlflowUri + map(c.path), { body });
    perCall.push(reply.ms);
    if (reply.status >= 500 || (reply.status !== c.status && reply.status !== 200)) {
      throw new Error(
        `replay of ${c.method} ${c.path} answered ${reply.status}: ${reply.body.slice(0, 200)}`,
      );
    }
    if (c.path.includes('model-versions/create') && reply.status === 200) {
      const versionOf = (s: string): string =>
        (JSON.parse(s) as { model_version: { version: string } }).model_version.version;
      version = [versionOf(c.response), versionOf(reply.body)];
    }
  }
  return { ms: performance.now() - started, perCall };
}

/**
 * 2. Cold reads (cache off: ML_REGISTRY_CACHE_TTL=0) and writes, on MLflow + S3. First a
 * service behind a recording proxy tells which MLflow calls each request makes; then a service
 * talking to MLflow directly is timed, request by request, alternating with a replay of the
 * same MLflow calls straight at MLflow (the replay of writes goes to another model, so the
 * service's version numbering is not disturbed).
 */
export async function coldReadsAndWrites(ctx: Context, tenant: string): Promise<ColdOp[]> {
  const stack = ctx.stack!;
  const iterations = ctx.smoke ? 5 : 60;
  const env = { ...realBackendEnv(stack, ctx.runId), ML_REGISTRY_CACHE_TTL: '0' };
  const editor = await token(tenant, ['editor']);
  const h = { authorization: `Bearer ${editor}` };
  const small = randomFile(ctx, 'cold.pkl', 16 * 1024);
  const children: Child[] = [];
  const proxy = new RecordingProxy(stack.mlflowUri, { agent });
  const s3Proxy = new RecordingProxy(stack.s3Endpoint, { keepHost: true, agent });
  try {
    // Two models of this tenant: `c-svc` for the service, `c-replay` for the replays.
    const bootstrap = await startService('service-cold-setup', { env });
    children.push(bootstrap);
    for (const name of ['c-svc', 'c-replay']) {
      const { manifest } = await uploadArtifact(bootstrap.url, editor, small);
      await callOk('POST', `${bootstrap.url}${BASE}/models`, {
        headers: h,
        body: { name, artifact_id: manifest.artifact_id },
      });
    }
    await bootstrap.stop();
    children.pop();

    // The operations, each run against a service URL.
    let stageToggle = false;
    const ops: Record<string, (url: string) => Promise<unknown>> = {
      'get version': (url) =>
        callOk('GET', `${url}${BASE}/models/c-svc/versions/1`, { headers: h }),
      'list models': (url) => callOk('GET', `${url}${BASE}/models?max_results=100`, { headers: h }),
      'register (new version)': async (url) => {
        const { manifest } = await uploadArtifact(url, editor, small);
        const started = performance.now();
        await callOk('POST', `${url}${BASE}/models`, {
          headers: h,
          body: { name: 'c-svc', artifact_id: manifest.artifact_id },
        });
        return performance.now() - started;
      },
      'stage transition': async (url) => {
        stageToggle = !stageToggle;
        const started = performance.now();
        await callOk('POST', `${url}${BASE}/models/c-svc/versions/1/stage`, {
          headers: h,
          body: { stage: stageToggle ? 'staging' : 'none' },
        });
        return performance.now() - started;
      },
    };

    // Learn each operation's MLflow calls (after one warm-up each: cached experiment id).
    const proxyUrl = await proxy.start();
    const s3ProxyUrl = await s3Proxy.start();
    const recorder = await startService('service-recording', {
      env: { ...env, MLFLOW_TRACKING_URI: proxyUrl, S3_ENDPOINT: s3ProxyUrl },
    });
    children.push(recorder);
    const sequences: Record<string, RecordedCall[][]> = {};
    for (const [op, run] of Object.entries(ops)) {
      await run(recorder.url);
      if (op === 'stage transition') await run(recorder.url); // back to the starting stage
      proxy.take();
      // Transitions alternate two targets: record both.
      const takes = op === 'stage transition' ? 2 : 1;
      sequences[op] = [];
      for (let i = 0; i < takes; i++) {
        await run(recorder.url);
        sequences[op].push(proxy.take());
      }
    }
    // Registrations through both proxies: when each backend call ran within the request.
    const registrations: RecordedRequest[] = [];
    for (let i = 0; i < (ctx.smoke ? 3 : 30); i++) {
      const { manifest } = await uploadArtifact(recorder.url, editor, small);
      proxy.take();
      s3Proxy.take();
      const t0 = performance.now();
      await callOk('POST', `${recorder.url}${BASE}/models`, {
        headers: h,
        body: { name: 'c-svc', artifact_id: manifest.artifact_id },
      });
      const t1 = performance.now();
      registrations.push({ t0, t1, mlflow: proxy.take(), s3: s3Proxy.take() });
    }
    await recorder.stop();
    children.pop();
    await proxy.stop();
    await s3Proxy.stop();

    const svc = await startService('service-cold', { env });
    children.push(svc);
    const from = mlflowName(ctx, tenant, 'c-svc');
    const to = mlflowName(ctx, tenant, 'c-replay');
    const rename = (s: string): string =>
      s.split(from).join(to).split(encodeURIComponent(from)).join(encodeURIComponent(to));
    const results: ColdOp[] = [];
    for (const [op, run] of Object.entries(ops)) {
      const serviceMs: number[] = [];
      const directMs: number[] = [];
      const alone = new Map<string, number[]>();
      await run(svc.url); // warm-up
      if (op === 'stage transition') await run(svc.url);
      for (let i = 0; i < iterations; i++) {
        const seq = sequences[op][i % sequences[op].length];
        const started = performance.now();
        const timed = await run(svc.url);
        serviceMs.push(typeof timed === 'number' ? timed : performance.now() - started);
        const replayed = await replay(stack.mlflowUri, seq, rename);
        directMs.push(replayed.ms);
        seq.forEach((c, k) =>
          alone.set(mlflowLabel(c), [...(alone.get(mlflowLabel(c)) ?? []), replayed.perCall[k]]),
        );
      }
      const service = summarize(serviceMs);
      const mlflowDirect = summarize(directMs);
      const result: ColdOp = {
        op,
        mlflowCalls: sequences[op][0].map((c) => `${c.method} ${c.path.split('?')[0]}`),
        service,
        mlflowDirect,
        addedAtP50: round((service.p50 - mlflowDirect.p50) / mlflowDirect.p50, 3),
        timeline: op === 'register (new version)' ? timelineOf(registrations, alone) : undefined,
      };
      ctx.log(
        `  ${op}: service p50 ${service.p50} ms, MLflow calls p50 ${mlflowDirect.p50} ms ` +
          `(${result.mlflowCalls.length} calls), added ${Math.round(result.addedAtP50 * 100)}%`,
      );
      results.push(result);
    }
    return results;
  } finally {
    await proxy.stop().catch(() => undefined);
    await s3Proxy.stop().catch(() => undefined);
    for (const c of children) await c.stop();
  }
}
