/**
 * The service's memory during the load run: its RSS by part from /proc every second, the heap
 * after each GC from node --trace-gc, and the figures the verdicts are drawn from.
 */
import { RssParts, rssParts } from '../../test/support/proc-stats';
import { median, MiB, round, slope } from './figures';

export interface Sample {
  t: number;
  rss: number;
}

/** A point of a series in MiB, `t` seconds after the workload started. */
export interface Point {
  t: number;
  mib: number;
}

/** What node --trace-gc prints, from the moment start() is called. */
export class GcTrace {
  /** Heap after every full GC, from node --trace-gc: "Mark-Compact 41.2 (60.1) -> 38.0 (59.3) MB". */
  readonly heapAfterGc: Point[] = [];
  /** The heap V8 holds from the system after every GC (the figure in parentheses), of any kind. */
  readonly heapCommitted: Point[] = [];
  private started = 0;
  private pendingLine = '';

  start(at: number): void {
    this.started = at;
  }

  /** For startService's onOutput: every chunk the service writes. */
  readonly onOutput = (chunk: string): void => {
    const lines = (this.pendingLine + chunk).split('\n');
    this.pendingLine = lines.pop() ?? '';
    for (const line of lines) {
      const m = /(Scavenge|Mark-Compact)[^\d]*[\d.]+ \([\d.]+\) -> ([\d.]+) \(([\d.]+)\) MB/.exec(
        line,
      );
      if (!m || this.started === 0) continue;
      const t = (Date.now() - this.started) / 1000;
      if (m[1] === 'Mark-Compact') this.heapAfterGc.push({ t, mib: Number(m[2]) });
      this.heapCommitted.push({ t, mib: Number(m[3]) });
    }
  };
}

/** One read of /proc per second: VmRSS is the sum of its three parts. */
export class RssSampler {
  readonly samples: Sample[] = [];
  readonly partSamples: { t: number; parts: RssParts }[] = [];
  private timer?: NodeJS.Timeout;

  start(pid: number, started: number): void {
    this.timer = setInterval(() => {
      const t = (Date.now() - started) / 1000;
      const parts = rssParts(pid);
      if (parts === null) return;
      this.samples.push({ t, rss: parts.anon + parts.file + parts.shmem });
      this.partSamples.push({ t, parts });
    }, 1000);
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** The last RSS sampled, MiB (for the progress lines). */
  lastMiB(): number | undefined {
    const last = this.samples[this.samples.length - 1];
    return last ? round(last.rss / MiB, 1) : undefined;
  }
}

/** The memory figures of a run of `duration` seconds. */
export function memoryFigures(duration: number, rss: RssSampler, gc: GcTrace) {
  const { samples, partSamples } = rss;
  const { heapAfterGc, heapCommitted } = gc;
  // Warm-up: the first 20 % (at least 10 s): JIT, caches and pools fill up.
  const warmupEnd = Math.max(10, duration * 0.2);
  const afterWarmup = samples.filter((s) => s.t >= warmupEnd);
  const secondHalf = samples.filter((s) => s.t >= duration / 2);
  const rssSlope = slope(secondHalf.map((s) => ({ x: s.t, y: s.rss / MiB }))) * 60;
  const warmRss = afterWarmup.length > 0 ? median(afterWarmup.slice(0, 5).map((s) => s.rss)) : 0;
  const finalRss = median(samples.slice(-5).map((s) => s.rss));
  const growth = (finalRss - warmRss) / MiB;
  const gcSecondHalf = heapAfterGc.filter((h) => h.t >= duration / 2);
  const heapSlope = slope(gcSecondHalf.map((h) => ({ x: h.t, y: h.mib }))) * 60;
  const floorIn = (from: number, to: number): number | null => {
    const inWindow = heapAfterGc.filter((h) => h.t >= from && h.t < to).map((h) => h.mib);
    return inWindow.length > 0 ? Math.min(...inWindow) : null;
  };
  const firstFloor = floorIn(warmupEnd, warmupEnd + 60);
  const lastFloor = duration - 60 >= warmupEnd + 60 ? floorIn(duration - 60, duration) : null;
  const floorGrowth =
    firstFloor !== null && lastFloor !== null ? round(lastFloor - firstFloor, 1) : null;
  // Memory outside the JS heap: RSS less the heap V8 held at the last GC before the sample
  // (native allocations, buffers, SQLite, the code). The JS heap itself is judged by its floor.
  const outsideHeap: Point[] = [];
  let g = 0;
  for (const sample of samples) {
    while (g + 1 < heapCommitted.length && heapCommitted[g + 1].t <= sample.t) g++;
    if (heapCommitted.length > 0 && heapCommitted[g].t <= sample.t) {
      outsideHeap.push({ t: sample.t, mib: sample.rss / MiB - heapCommitted[g].mib });
    }
  }
  const medianIn = (series: Point[], from: number, to: number) => {
    const inWindow = series.filter((p) => p.t >= from && p.t < to).map((p) => p.mib);
    return inWindow.length > 0 ? median(inWindow) : null;
  };
  const growthOf = (series: Point[]): number | null => {
    const first = medianIn(series, warmupEnd, warmupEnd + 60);
    const last = medianIn(series, duration - 60, duration + 1);
    return first !== null && last !== null ? round(last - first, 1) : null;
  };
  // Which part of the RSS moved: anonymous memory (JS heap, malloc), file pages mapped,
  // shared memory (SQLite's WAL index).
  const partGrowth = (key: keyof RssParts): number | null =>
    growthOf(partSamples.map((p) => ({ t: p.t, mib: p.parts[key] / MiB })));
  const outsideHeapSlope =
    slope(outsideHeap.filter((p) => p.t >= duration / 2).map((p) => ({ x: p.t, y: p.mib }))) * 60;
  return {
    warmupEnd,
    rssSlope,
    warmRss,
    finalRss,
    growth,
    gcSecondHalf,
    heapSlope,
    firstFloor,
    lastFloor,
    floorGrowth,
    heapCommittedGrowth: growthOf(heapCommitted),
    outsideHeapGrowth: growthOf(outsideHeap),
    outsideHeapSlope,
    partsGrowth: {
      anon: partGrowth('anon'),
      file: partGrowth('file'),
      shmem: partGrowth('shmem'),
    },
  };
}

export type MemoryFigures = ReturnType<typeof memoryFigures>;
