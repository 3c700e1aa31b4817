/*
 * Profiles the service under a hot-read load: starts it (embedded, or on the stack's MLflow + S3
 * with --real) with `node --cpu-prof`, registers one model, loads GET version (or the list with
 * --list) for a few seconds, stops it and prints the heaviest functions and packages of the
 * profile (written to bench-results/prof/).
 *   npx ts-node --transpile-only --project bench/tsconfig.json bench/tools/profile-hot.ts [--list] [--seconds 8]
 */
import { mkdirSync, mkdtempSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Context } from '../lib/context';
import { realBackendEnv, ROOT, stackEnv } from '../lib/env';
import { load } from '../lib/load';
import { BASE, startService, token } from '../lib/service';
import { MiB, randomFile } from '../lib/context';
import { download, uploadArtifact } from '../lib/upload';
import { seedModels } from '../sections/hot';
import { summarizeProfile } from './cpuprofile';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      list: { type: 'boolean', default: false },
      real: { type: 'boolean', default: false },
      seconds: { type: 'string', default: '8' },
      env: { type: 'string', multiple: true, default: [] },
      /** Profile a download of this many MiB instead (S3 with --real). */
      download: { type: 'string' },
    },
  });
  const dir = join(ROOT, 'bench-results', 'prof');
  mkdirSync(dir, { recursive: true });
  const runId = Math.random().toString(16).slice(2, 8);
  const ctx: Context = {
    smoke: true,
    runId,
    resultsDir: dir,
    tmp: mkdtempSync(join(tmpdir(), 'registry-prof-')),
    log: (m) => process.stdout.write(`${m}\n`),
  };
  const extra = Object.fromEntries(
    (values.env ?? []).map((kv) => kv.split('=') as [string, string]),
  );
  const env = { ...(values.real ? realBackendEnv(stackEnv(), runId) : {}), ...extra };
  const before = new Set(readdirSync(dir));
  const svc = await startService('service-prof', {
    env,
    nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${dir}`],
  });
  try {
    const tenant = 'prof';
    const [model] = await seedModels(ctx, svc, tenant, 1);
    const viewer = await token(tenant, ['viewer']);
    if (values.download !== undefined) {
      const file = randomFile(ctx, 'dl.bin', Number(values.download) * MiB);
      const { manifest } = await uploadArtifact(svc.url, await token(tenant, ['editor']), file);
      const cpu = svc.cpuSeconds();
      const got = await download(
        `${svc.url}${BASE}/artifacts/${manifest.artifact_id}/files/model.pkl`,
        { authorization: `Bearer ${viewer}` },
      );
      process.stdout.write(
        `download ${values.download} MiB: ${Math.round(got.bytes / MiB / (got.ms / 1000))} MiB/s, ` +
          `service CPU ${(svc.cpuSeconds() - cpu).toFixed(2)} s\n`,
      );
      values.seconds = String(got.ms / 1000);
    } else {
      await loadRoute(svc.url, model, viewer, values.list ?? false, Number(values.seconds));
    }
  } finally {
    await svc.stop();
  }
  const file = readdirSync(dir)
    .filter((f) => f.endsWith('.cpuprofile') && !before.has(f))
    .sort((a, b) => statSync(join(dir, b)).mtimeMs - statSync(join(dir, a)).mtimeMs)[0];
  if (!file) throw new Error('no profile written');
  process.stdout.write(
    `${join(dir, file)}\n${summarizeProfile(join(dir, file), Number(values.seconds) + 0.5)}\n`,
  );
}

async function loadRoute(
  base: string,
  model: string,
  viewer: string,
  list: boolean,
  seconds: number,
): Promise<void> {
  const url = list
    ? `${base}${BASE}/models?max_results=100`
    : `${base}${BASE}/models/${model}/versions/1`;
  const r = await load('profile', url, {
    durationS: seconds,
    connections: 10,
    headers: { authorization: `Bearer ${viewer}` },
  });
  process.stdout.write(`${r.rps} req/s, p50 ${r.p50} ms, p99 ${r.p99} ms\n`);
}

void main().then(() => process.exit(0));
