/** The load run's report: load-results/summary.json (or --out) and its one-paragraph digest. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname } from 'node:path';
import { MiB, percentile, round } from './figures';
import type { GcTrace, MemoryFigures, RssSampler } from './memory';
import type { Options } from './options';
import { Checks, CountsVerdict, errorCount } from './verdicts';
import type { Driver } from './workload';

export interface RunFacts {
  o: Options;
  /** Seconds the workload ran, start to last answer. */
  elapsed: number;
  /** Operations that were due. */
  scheduled: number;
  driver: Driver;
  counts: CountsVerdict;
  rss: RssSampler;
  gc: GcTrace;
  memory: MemoryFigures;
  checks: Checks;
}

/** Writes the summary, prints its digest, and says whether every check passed. */
export function writeReport(run: RunFacts): boolean {
  const { o, elapsed, scheduled, driver, counts, memory, checks } = run;
  const samples = run.rss.samples;
  const opsSummary = [...driver.stats.ops.values()].map((op) => {
    const sorted = [...op.latencies].sort((a, b) => a - b);
    return {
      op: op.kind,
      requests: op.count,
      errors: op.errors,
      p50_ms: round(percentile(sorted, 50)),
      p95_ms: round(percentile(sorted, 95)),
      p99_ms: round(percentile(sorted, 99)),
      max_ms: round(sorted[sorted.length - 1] ?? 0),
    };
  });
  const errors = errorCount(driver);
  const summary = {
    mode: o.real ? 'real' : 'embedded',
    cache_ttl_s: o.cacheTtl,
    keep_versions_per_model: o.keepVersions || null,
    service_env: o.serviceEnv,
    heap_limit_mib: o.heapLimit || null,
    load_average_at_end: loadavg().map((x) => round(x)),
    duration_s: o.duration,
    elapsed_s: round(elapsed, 1),
    target_ops_per_s: o.rate,
    ops_scheduled: scheduled,
    ops_started: scheduled - driver.stats.skipped,
    ops_skipped_for_concurrency: driver.stats.skipped,
    requests: driver.stats.requests,
    requests_per_s: round(driver.stats.requests / elapsed, 1),
    errors,
    reads_of_versions_deleted_meanwhile: driver.stats.goneMeanwhile,
    error_samples: driver.stats.errors.slice(0, 20),
    operations: opsSummary,
    counts: counts.details,
    count_problems: counts.problems.slice(0, 50),
    memory: {
      warmup_s: memory.warmupEnd,
      rss_after_warmup_mib: round(memory.warmRss / MiB, 1),
      rss_final_mib: round(memory.finalRss / MiB, 1),
      rss_growth_mib: round(memory.growth, 1),
      rss_max_mib: round(Math.max(...samples.map((s) => s.rss)) / MiB, 1),
      rss_slope_second_half_mib_per_min: round(memory.rssSlope, 3),
      // [seconds since start, heap left after the full GC in MiB]
      heap_after_full_gc_mib: run.gc.heapAfterGc.map((h) => [round(h.t, 1), h.mib]),
      heap_after_full_gc_slope_second_half_mib_per_min: round(memory.heapSlope, 3),
      heap_floor_first_minute_after_warmup_mib: memory.firstFloor,
      heap_floor_last_minute_mib: memory.lastFloor,
      heap_floor_growth_mib: memory.floorGrowth,
      heap_committed_growth_mib: memory.heapCommittedGrowth,
      outside_heap_growth_mib: memory.outsideHeapGrowth,
      outside_heap_slope_second_half_mib_per_min: round(memory.outsideHeapSlope, 3),
      rss_parts_growth_mib: memory.partsGrowth,
      full_gcs_second_half: memory.gcSecondHalf.length,
      thresholds: {
        max_slope_mib_per_min: o.maxSlopeMiBPerMin,
        max_growth_mib: o.maxGrowthMiB,
        max_heap_floor_growth_mib: o.maxHeapFloorGrowthMiB,
      },
      rss_samples: samples.map((s) => [round(s.t, 1), round(s.rss / MiB, 1)]),
    },
    checks,
    pass: Object.values(checks).every(Boolean),
  };
  mkdirSync(dirname(o.out), { recursive: true });
  writeFileSync(o.out, JSON.stringify(summary, null, 2) + '\n');
  process.stdout.write(
    `load: ${summary.requests} requests (${summary.requests_per_s}/s), ${errors} errors; ` +
      `versions ${counts.details['versions_registered']} registered - ` +
      `${counts.details['versions_deleted']} deleted / ${counts.details['versions_listed']} listed, ` +
      `transitions ${counts.details['transitions_made']}/${counts.details['transition_history_entries']}; ` +
      `rss ${summary.memory.rss_after_warmup_mib} -> ${summary.memory.rss_final_mib} MiB, ` +
      `slope ${summary.memory.rss_slope_second_half_mib_per_min} MiB/min, ` +
      `heap floor ${memory.firstFloor ?? '?'} -> ${memory.lastFloor ?? '?'} MiB, ` +
      `growth by part ${JSON.stringify(summary.memory.rss_parts_growth_mib)} MiB, ` +
      `V8 heap held ${summary.memory.heap_committed_growth_mib} MiB, ` +
      `outside the heap ${summary.memory.outside_heap_growth_mib} MiB ` +
      `(${summary.memory.outside_heap_slope_second_half_mib_per_min} MiB/min)\n` +
      `checks: ${JSON.stringify(checks)}\nsummary: ${o.out}\n`,
  );
  return summary.pass;
}
