import { performance } from 'node:perf_hooks';
import { Context, randomFile } from '../lib/context';
import { realBackendEnv } from '../lib/env';
import { call, callOk, round, summarize, LatencySummary } from '../lib/http';
import { RecordedCall, RecordingProxy } from '../lib/recording-proxy';
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
}

/** Replays recorded MLflow calls straight at MLflow, one after the other; total ms. */
async function replay(
  mlflowUri: string,
  calls: RecordedCall[],
  rename: (s: string) => string,
): Promise<number> {
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
  for (const c of calls) {
    const body = c.body === '' ? undefined : (JSON.parse(map(c.body)) as unknown);
    const reply = await call(c.method, mlflowUri + map(c.path), { body });
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
  return performance.now() - started;
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
  const proxy = new RecordingProxy(stack.mlflowUri);
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
    const recorder = await startService('service-recording', {
      env: { ...env, MLFLOW_TRACKING_URI: proxyUrl },
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
    await recorder.stop();
    children.pop();
    await proxy.stop();

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
      await run(svc.url); // warm-up
      if (op === 'stage transition') await run(svc.url);
      for (let i = 0; i < iterations; i++) {
        const seq = sequences[op][i % sequences[op].length];
        const started = performance.now();
        const timed = await run(svc.url);
        serviceMs.push(typeof timed === 'number' ? timed : performance.now() - started);
        directMs.push(await replay(stack.mlflowUri, seq, rename));
      }
      const service = summarize(serviceMs);
      const mlflowDirect = summarize(directMs);
      const result: ColdOp = {
        op,
        mlflowCalls: sequences[op][0].map((c) => `${c.method} ${c.path.split('?')[0]}`),
        service,
        mlflowDirect,
        addedAtP50: round((service.p50 - mlflowDirect.p50) / mlflowDirect.p50, 3),
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
    for (const c of children) await c.stop();
  }
}
