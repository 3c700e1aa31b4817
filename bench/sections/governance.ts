import { createHash } from 'node:crypto';
import { createReadStream, rmSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Context, MiB, randomFile } from '../lib/context';
import { callOk, round } from '../lib/http';
import { BASE, Child, startService, token } from '../lib/service';
import { azureStore, azuriteEnv, s3Store } from '../lib/stores';
import { download, RssSampler, uploadArtifact } from '../lib/upload';

/** The time of each step of one production promotion, ms. */
export interface PromotionSteps {
  /** POST /artifacts of the model file (multipart, streamed). */
  upload: number;
  /** POST /models: the version registered from the upload (its files placed). */
  register: number;
  /** POST .../stage {stage: production}: gates evaluated, model digest recorded, 202. */
  request: number;
  /** The first of two approvers' votes: rules re-evaluated, vote counted, still pending. */
  firstVote: number;
  /**
   * The second vote, completing the quorum: rules re-evaluated, vote counted, the stored model
   * file re-read and its SHA-256 checked, then the transition applied.
   */
  finalVote: number;
}

export interface PromotionRun {
  /** Where the service stores artifacts: `files` (embedded default), `s3`, `azure`. */
  store: 'files' | 's3' | 'azure';
  /** Embedded MLflow registry and SQLite, or the stack's MLflow and SQLite. */
  registry: 'embedded' | 'mlflow';
  sizeMiB: number;
  /** PUT /policies/production (required_approvals 2, a gate, no_regression), once. */
  policyMs: number;
  steps: PromotionSteps;
  /**
   * The same promotion with a 64 KiB model just before (after a first one that warms up every
   * route): everything but the big file's cost.
   */
  baseline: PromotionSteps;
  /** finalVote - baseline.finalVote: the re-read and hash of the model file. */
  verifyMs: number;
  verifyMiBs: number;
  /** For comparison: GET of the same model file through the service, and SHA-256 in the bench. */
  downloadMiBs: number;
  sha256MiBs: number;
  /** The service's RSS over the final vote: peak, and growth over its RSS just before. */
  finalVoteRssPeakMiB: number;
  finalVoteRssGrowthMiB: number;
}

const BASELINE_BYTES = 64 * 1024;
const mibs = (bytes: number, ms: number): number => round(bytes / MiB / (ms / 1000), 1);

/** The policy the promotions go through: two approvers, a metric gate, no regression. */
const POLICY = {
  required_approvals: 2,
  gates: [{ metric: 'accuracy', op: '>=', value: 0.8 }],
  no_regression: [{ metric: 'accuracy', tolerance: 0.01 }],
  request_ttl_seconds: 3600,
};

interface Tokens {
  editor: string;
  approvers: [string, string];
}

/** `work`, its failure naming the promotion and the step it failed at. */
async function step<T>(name: string, what: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    throw new Error(`${name}: ${what}: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** One promotion of the model in `file`: upload, register, request, two votes, each timed. */
async function promote(
  svc: Child,
  tokens: Tokens,
  name: string,
  file: string,
  rss?: { peak: number; growth: number },
): Promise<{ steps: PromotionSteps; artifactId: string }> {
  const bearer = (t: string) => ({ authorization: `Bearer ${t}` });
  const up = await step(name, 'upload', () => uploadArtifact(svc.url, tokens.editor, file));
  const registered = await step(name, 'register', () =>
    callOk<{ version: number }>('POST', `${svc.url}${BASE}/models`, {
      headers: bearer(tokens.editor),
      body: { name, artifact_id: up.manifest.artifact_id, description: 'bench promotion' },
    }),
  );
  const requested = await step(name, 'production request', () =>
    callOk<{ approval: { id: string; status: string } }>(
      'POST',
      `${svc.url}${BASE}/models/${name}/versions/${registered.version}/stage`,
      { headers: bearer(tokens.editor), body: { stage: 'production', comment: 'bench' } },
      [202],
    ),
  );
  const id = requested.approval.id;
  const vote = (approver: string) =>
    callOk<{
      approval: { status: string; apply_state: string; approvals: unknown[] };
      version: { stage: string } | null;
    }>('POST', `${svc.url}${BASE}/approvals/${id}/approve`, {
      headers: bearer(approver),
      body: { comment: 'lgtm' },
    });
  const first = await step(name, 'vote 1', () => vote(tokens.approvers[0]));
  if (first.approval.status !== 'pending' || first.approval.approvals.length !== 1)
    throw new Error(`first vote: approval is ${JSON.stringify(first.approval)}`);
  const sampler = new RssSampler(() => svc.rss());
  const baseline = svc.rss();
  sampler.start();
  let peak = NaN;
  const last = await step(name, 'vote 2', () => vote(tokens.approvers[1])).finally(() => {
    peak = sampler.stop(); // also when the vote failed: no sampler left running
  });
  if (rss) Object.assign(rss, { peak, growth: peak - baseline });
  if (
    last.approval.status !== 'approved' ||
    last.approval.apply_state !== 'applied' ||
    last.version?.stage !== 'production'
  ) {
    throw new Error(
      `final vote did not promote: approval ${JSON.stringify(last.approval)}, version stage ${last.version?.stage}`,
    );
  }
  return {
    steps: {
      upload: round(up.ms),
      register: round(registered.__ms),
      request: round(requested.__ms),
      firstVote: round(first.__ms),
      finalVote: round(last.__ms),
    },
    artifactId: up.manifest.artifact_id,
  };
}

/** SHA-256 of a file in the bench process, MiB/s: what hashing alone costs on this machine. */
async function sha256Throughput(file: string, bytes: number): Promise<number> {
  const hash = createHash('sha256');
  const started = performance.now();
  await pipeline(
    createReadStream(file, { highWaterMark: 1024 * 1024 }),
    new Writable({
      write(chunk: Buffer, _e, cb) {
        hash.update(chunk);
        cb();
      },
    }),
  );
  hash.digest();
  return mibs(bytes, performance.now() - started);
}

/**
 * 6. A production promotion under a policy of two approvers (the governance issue): a model of
 * `sizeMiB` uploaded, registered, requested for production and approved by two approvers, each
 * step timed; the final vote re-reads the stored model file and checks its SHA-256 before the
 * transition is applied. The same promotion with a 64 KiB model just before (after another one
 * to warm up) is the baseline:
 * the difference of the final votes is the verify, hence its throughput. On the embedded
 * default (embedded registry, files) and, with the stack, on MLflow with S3 and with Azurite.
 */
export async function promotions(ctx: Context, sizeMiB: number): Promise<PromotionRun[]> {
  const targets: {
    store: PromotionRun['store'];
    registry: PromotionRun['registry'];
    env: Record<string, string>;
    cleanUp?: () => Promise<void>;
  }[] = [{ store: 'files', registry: 'embedded', env: {} }];
  if (ctx.stack) {
    const stores = [s3Store(ctx.stack, ctx.runId)];
    const azure = azuriteEnv();
    if (azure) stores.push(azureStore(ctx.stack, azure, ctx.runId));
    else ctx.log('  no Azurite in the stack (STACK_AZURITE_*): no Azure row');
    for (const store of stores) {
      targets.push({
        store: store.name,
        registry: 'mlflow',
        env: store.serviceEnv,
        cleanUp: () => store.cleanUp(),
      });
    }
  }
  const bytes = sizeMiB * MiB;
  const file = randomFile(ctx, `promotion-${sizeMiB}.bin`, bytes);
  const small = randomFile(ctx, 'promotion-baseline.bin', BASELINE_BYTES);
  const runs: PromotionRun[] = [];
  try {
    const sha256MiBs = await sha256Throughput(file, bytes);
    for (const target of targets) {
      const tenant = `gov-${ctx.runId}-${target.store}`;
      const tokens: Tokens = {
        editor: await token(tenant, ['editor'], 'alice'),
        approvers: [
          await token(tenant, ['approver'], 'approver-1'),
          await token(tenant, ['approver'], 'approver-2'),
        ],
      };
      const admin = await token(tenant, ['admin'], 'carol');
      const svc = await startService(`service-promotion-${target.store}`, { env: target.env });
      try {
        const policy = await callOk('PUT', `${svc.url}${BASE}/policies/production`, {
          headers: { authorization: `Bearer ${admin}` },
          body: POLICY,
        });
        // A first small promotion warms up every route the measured ones take (first-use costs
        // would otherwise land in the baseline and make the verify look faster than it is).
        await promote(svc, tokens, 'promotion-warm-up', small);
        const baseline = (await promote(svc, tokens, 'promotion-baseline', small)).steps;
        const rss = { peak: NaN, growth: NaN };
        const { steps, artifactId } = await promote(svc, tokens, 'promotion', file, rss);
        const got = await download(`${svc.url}${BASE}/artifacts/${artifactId}/files/model.pkl`, {
          authorization: `Bearer ${tokens.editor}`,
        });
        if (got.bytes !== bytes) throw new Error(`download got ${got.bytes} of ${bytes} bytes`);
        const verifyMs = round(steps.finalVote - baseline.finalVote);
        runs.push({
          store: target.store,
          registry: target.registry,
          sizeMiB,
          policyMs: round(policy.__ms),
          steps,
          baseline,
          verifyMs,
          verifyMiBs: verifyMs > 0 ? mibs(bytes, verifyMs) : NaN,
          downloadMiBs: mibs(bytes, got.ms),
          sha256MiBs,
          finalVoteRssPeakMiB: round(rss.peak / MiB, 1),
          finalVoteRssGrowthMiB: round(rss.growth / MiB, 1),
        });
        ctx.log(`  ${target.store}: ${JSON.stringify(runs.at(-1))}`);
      } catch (err) {
        throw new Error(`${target.store}: ${err instanceof Error ? err.message : String(err)}`);
      } finally {
        await svc.stop();
        await target
          .cleanUp?.()
          .catch((err: unknown) => ctx.log(`  ${target.store} clean-up failed: ${String(err)}`));
      }
    }
  } finally {
    rmSync(file, { force: true });
    rmSync(small, { force: true });
  }
  return runs;
}
