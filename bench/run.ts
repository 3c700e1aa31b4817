/*
 * The benchmark suite: `npm run bench` (full, ~15 min, writes BENCHMARKS.md) and
 * `npm run bench:smoke` (tiny sizes and durations: checks that it runs; writes only
 * bench-results/). Options: --smoke, --only=identity,hot,cold,artifacts,scale,webhooks,
 * audit,promotion, --embedded-only.
 * Needs `dist/` (the npm scripts build it first) and, except with --embedded-only, the test stack
 * (`scripts/stack/stack.sh up`, found through the STACK_* variables or .stack/run/env).
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { randomBytes } from 'node:crypto';
import { Context } from './lib/context';
import { ROOT, stackEnv, StackEnv } from './lib/env';
import { call, callOk } from './lib/http';
import { machine } from './lib/machine';
import { startService } from './lib/service';
import { realBackendEnv } from './lib/env';
import { artifactTransfers, minioClient } from './sections/artifacts';
import { coldReadsAndWrites } from './sections/cold';
import { hotReads, seedModels } from './sections/hot';
import { identity } from './sections/identity';
import { scaleEmbedded } from './sections/scale';
import { scaleMlflow } from './sections/scale-mlflow';
import { webhooksUnderLoad } from './sections/webhooks';
import { auditVerify } from './sections/audit';
import { promotions } from './sections/governance';
import { azureStore, azuriteEnv } from './lib/stores';
import { report, Results } from './report';

const SECTIONS = [
  'identity',
  'hot',
  'cold',
  'artifacts',
  'scale',
  'scale-mlflow',
  'webhooks',
  'audit',
  'promotion',
] as const;

function log(message: string): void {
  process.stdout.write(`${new Date().toISOString().slice(11, 19)} ${message}\n`);
}

async function cleanUp(stack: StackEnv, runId: string): Promise<void> {
  // MLflow: the models and experiments of this run's namespace. S3: its prefix.
  const prefix = `bench-${runId}~`;
  for (;;) {
    const found = await callOk<{ registered_models?: { name: string }[] }>(
      'GET',
      `${stack.mlflowUri}/api/2.0/mlflow/registered-models/search?max_results=1000&filter=` +
        encodeURIComponent(`name LIKE '${prefix}%'`),
    );
    const names = (found.registered_models ?? []).map((m) => m.name);
    if (names.length === 0) break;
    for (const name of names) {
      await call('DELETE', `${stack.mlflowUri}/api/2.0/mlflow/registered-models/delete`, {
        body: { name },
      });
    }
  }
  const experiments = await callOk<{ experiments?: { experiment_id: string }[] }>(
    'POST',
    `${stack.mlflowUri}/api/2.0/mlflow/experiments/search`,
    { body: { max_results: 1000, filter: `name LIKE 'model-registry/bench-${runId}/%'` } },
  );
  for (const e of experiments.experiments ?? []) {
    await call('POST', `${stack.mlflowUri}/api/2.0/mlflow/experiments/delete`, {
      body: { experiment_id: e.experiment_id },
    });
  }
  const s3 = minioClient(stack);
  const keys: string[] = [];
  for await (const item of s3.listObjectsV2(stack.s3Bucket, `bench-${runId}/`, true)) {
    if ((item as { name?: string }).name) keys.push((item as { name: string }).name);
  }
  for (let i = 0; i < keys.length; i += 1000) {
    await s3.removeObjects(stack.s3Bucket, keys.slice(i, i + 1000));
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      smoke: { type: 'boolean', default: false },
      only: { type: 'string' },
      'embedded-only': { type: 'boolean', default: false },
    },
  });
  const only = values.only ? values.only.split(',') : [...SECTIONS];
  for (const o of only) {
    if (!(SECTIONS as readonly string[]).includes(o))
      throw new Error(`unknown section '${o}' (${SECTIONS.join(', ')})`);
  }
  const embeddedOnly = values['embedded-only'] ?? false;
  const wants = (s: (typeof SECTIONS)[number]): boolean =>
    only.includes(s) &&
    (!embeddedOnly || ['identity', 'scale', 'webhooks', 'audit', 'promotion'].includes(s));
  const smoke = values.smoke ?? false;
  const runId = randomBytes(3).toString('hex');
  const tmp = mkdtempSync(join(tmpdir(), 'registry-bench-run-'));
  const resultsDir = join(ROOT, 'bench-results');
  mkdirSync(resultsDir, { recursive: true });
  const stack = embeddedOnly ? undefined : stackEnv();
  if (stack) {
    const health = await call('GET', `${stack.mlflowUri}/health`).catch(() => undefined);
    if (health?.status !== 200) {
      throw new Error(
        `MLflow at ${stack.mlflowUri} does not answer: is the stack up? (scripts/stack/stack.sh up)`,
      );
    }
  }
  const ctx: Context = { smoke, runId, stack, resultsDir, tmp, log };
  const started = Date.now();
  const results: Results = {
    mode: smoke ? 'smoke' : 'full',
    runId,
    startedAt: new Date(started).toISOString(),
    machine: machine(),
    command: `npm run bench${smoke ? ':smoke' : ''}${values.only ? ` -- --only=${values.only}` : ''}`,
  };
  log(`bench ${results.mode} run ${runId}: ${JSON.stringify(results.machine)}`);
  const tenant = `hot-${runId}`;
  const stamp = results.startedAt.replace(/[:.]/g, '-');
  const save = (): void => {
    const json = JSON.stringify(results, null, 2);
    writeFileSync(join(resultsDir, `${stamp}-${results.mode}.json`), json);
    writeFileSync(join(resultsDir, `latest-${results.mode}.json`), json);
  };
  // Each section on its own: a failure is recorded and the others still run; results are saved
  // after every section.
  const section = async (name: string, title: string, work: () => Promise<void>): Promise<void> => {
    log(title);
    try {
      await work();
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      log(`${name} FAILED: ${message}`);
      results.failures = { ...results.failures, [name]: message };
    }
    save();
  };
  try {
    if (wants('identity')) {
      await section('identity', '5. identity', async () => {
        results.identity = await identity(ctx);
      });
    }
    if (wants('hot') || wants('cold')) {
      await section('seed', 'seeding models through the service (MLflow + S3)', async () => {
        const svc = await startService('service-seed', { env: realBackendEnv(stack!, runId) });
        try {
          results.hotModels = await seedModels(ctx, svc, tenant, smoke ? 2 : 10);
        } finally {
          await svc.stop();
        }
      });
    }
    if (wants('hot') && results.hotModels) {
      await section('hot', '1. hot reads', async () => {
        results.hot = await hotReads(ctx, tenant, results.hotModels!);
      });
    }
    if (wants('cold')) {
      await section('cold', '2. cold reads and writes', async () => {
        results.cold = await coldReadsAndWrites(ctx, tenant);
      });
    }
    if (wants('artifacts')) {
      await section('artifacts', '3. artifact transfers', async () => {
        results.artifacts = await artifactTransfers(
          ctx,
          smoke ? [4, 16] : [256, 1024],
          smoke ? 64 : 4096,
        );
      });
      const azure = azuriteEnv();
      if (azure) {
        await section('artifacts-azure', '3. artifact transfers, Azure (Azurite)', async () => {
          results.artifactsAzure = await artifactTransfers(
            ctx,
            smoke ? [4, 16] : [256, 1024],
            undefined,
            azureStore(stack!, azure, runId),
          );
        });
      } else log('  no Azurite in the stack (STACK_AZURITE_*): no Azure transfers');
    }
    if (wants('scale')) {
      await section('scale', '4. scale, embedded', async () => {
        results.scale = [
          ...(results.scale ?? []),
          await scaleEmbedded(ctx, smoke ? 200 : 10_000, 10),
        ];
      });
    }
    if (wants('scale-mlflow')) {
      await section('scale-mlflow', '4. scale, MLflow', async () => {
        results.scale = [
          ...(results.scale ?? []),
          await scaleMlflow(ctx, smoke ? 200 : 10_000, 10),
        ];
      });
    }
    if (wants('webhooks')) {
      await section(
        'webhooks',
        '6. a hanging webhook receiver while the API is under load',
        async () => {
          results.webhooks = await webhooksUnderLoad(ctx);
        },
      );
    }
    if (wants('audit')) {
      await section('audit', '7. audit verify', async () => {
        results.audit = await auditVerify(ctx, smoke ? 2_000 : 100_000);
      });
    }
    if (wants('promotion')) {
      await section('promotion', '8. production promotion (verified model)', async () => {
        results.promotion = await promotions(ctx, smoke ? 8 : 256);
      });
    }
  } finally {
    if (stack)
      await cleanUp(stack, runId).catch((err: unknown) => log(`clean-up failed: ${String(err)}`));
    rmSync(tmp, { recursive: true, force: true });
  }
  results.durationS = Math.round((Date.now() - started) / 1000);
  save();
  const analysis = readFileSync(join(ROOT, 'bench', 'analysis.md'), 'utf8');
  const markdown = report(results, analysis);
  const target =
    smoke || values.only
      ? join(resultsDir, `BENCHMARKS-${results.mode}.md`)
      : join(ROOT, 'BENCHMARKS.md');
  writeFileSync(target, markdown);
  log(`done in ${results.durationS} s: ${target}, bench-results/${stamp}-${results.mode}.json`);
  if (results.failures)
    throw new Error(`failed sections: ${Object.keys(results.failures).join(', ')}`);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(
      `bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    );
    process.exit(1);
  },
);
