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
 *
 * The parts: options.ts (the command line), service.ts (the service and its tokens),
 * workload.ts (the driver and its pace), memory.ts (sampling and figures), verdicts.ts (counts
 * and checks), report.ts (the summary).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ServiceProcess } from '../../test/support/service-process';
import { GcTrace, memoryFigures, RssSampler } from './memory';
import { parseArgs } from './options';
import { writeReport } from './report';
import { serviceEnv, startUnderLoad, token } from './service';
import { checksOf, verifyCounts } from './verdicts';
import { driveAtRate, Driver, ModelState } from './workload';

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  const dataDir = mkdtempSync(join(tmpdir(), 'registry-load-'));
  const env = await serviceEnv(o);
  const gc = new GcTrace();
  process.stdout.write(
    `load: ${o.real ? 'real stack' : 'embedded'}, ${o.rate} ops/s for ${o.duration} s\n`,
  );
  let service: ServiceProcess | undefined;
  let exitCode = 1;
  try {
    service = await startUnderLoad(o, dataDir, env, gc);
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

    const started = Date.now();
    gc.start(started);
    const rss = new RssSampler();
    rss.start(service.pid, started);
    const scheduled = await driveAtRate(
      driver,
      { startedAt: started, rate: o.rate, durationS: o.duration, concurrency: o.concurrency },
      () =>
        process.stdout.write(
          `  ${Math.round((Date.now() - started) / 1000)} s: ${driver.stats.requests} requests, ` +
            `${driver.stats.errors.length} errors, rss ${rss.lastMiB() ?? '?'} MiB\n`,
        ),
    );
    const elapsed = (Date.now() - started) / 1000;
    rss.stop();

    const counts = await verifyCounts(driver);
    const memory = memoryFigures(o.duration, rss, gc);
    const checks = checksOf(o, driver, scheduled, counts, memory);
    const pass = writeReport({ o, elapsed, scheduled, driver, counts, rss, gc, memory, checks });
    exitCode = pass ? 0 : 1;
  } finally {
    await service?.stop('SIGTERM');
    rmSync(dataDir, { recursive: true, force: true });
  }
  process.exit(exitCode);
}

main().catch((err: unknown) => {
  process.stderr.write(
    `load: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
  );
  process.exit(1);
});
