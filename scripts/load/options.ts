import { join, resolve } from 'node:path';
import { ROOT } from '../../test/support/service-process';

/** The command line of scripts/load/run.ts (see there). */
export interface Options {
  duration: number;
  rate: number;
  real: boolean;
  out: string;
  models: number;
  concurrency: number;
  /** Largest RSS slope over the second half allowed, MiB per minute. */
  maxSlopeMiBPerMin: number;
  /** Largest growth of RSS from the end of warm-up to the end allowed, MiB. */
  maxGrowthMiB: number;
  /**
   * Largest rise of the heap floor allowed, MiB: the least heap left after a full GC in the
   * last minute against the same in the first minute after warm-up. (The heap after GC is a
   * sawtooth: expired cache entries are swept once a minute, so a slope fitted to every sample
   * says little; the floor is what the process keeps for good.)
   */
  maxHeapFloorGrowthMiB: number;
  /** ML_REGISTRY_CACHE_TTL of the service: short, so the cache reaches its steady size early. */
  cacheTtl: number;
  /**
   * --max-old-space-size of the service (MiB; 0: none): full GCs come sooner, a leak ends in a
   * crash. Without one, V8 on a large machine lets its heap (and RSS) grow long before it
   * collects, which looks like a leak to an RSS check and is not (RELIABILITY.md).
   */
  heapLimit: number;
  /**
   * Versions kept per model (0: all). When a registration takes a model above it, the driver
   * deletes the model's oldest version that is not in production (admin), so the live data stops
   * growing once every model is full: memory that still grows then is not data growing.
   */
  keepVersions: number;
  /** Extra environment of the service (--service-env KEY=VALUE, repeatable), e.g. MALLOC_ARENA_MAX. */
  serviceEnv: Record<string, string>;
}

export function parseArgs(argv: string[]): Options {
  const o: Options = {
    duration: 300,
    rate: 50,
    real: false,
    out: join(ROOT, 'load-results', 'summary.json'),
    models: 40,
    concurrency: 64,
    maxSlopeMiBPerMin: 2,
    maxGrowthMiB: 40,
    maxHeapFloorGrowthMiB: 16,
    cacheTtl: 10,
    heapLimit: 256,
    keepVersions: 0,
    serviceEnv: {},
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === '--duration') o.duration = Number(next());
    else if (a === '--rate') o.rate = Number(next());
    else if (a === '--real') o.real = true;
    else if (a === '--out') o.out = resolve(next());
    else if (a === '--models') o.models = Number(next());
    else if (a === '--concurrency') o.concurrency = Number(next());
    else if (a === '--max-slope') o.maxSlopeMiBPerMin = Number(next());
    else if (a === '--max-growth') o.maxGrowthMiB = Number(next());
    else if (a === '--max-heap-floor-growth') o.maxHeapFloorGrowthMiB = Number(next());
    else if (a === '--cache-ttl') o.cacheTtl = Number(next());
    else if (a === '--heap-limit') o.heapLimit = Number(next());
    else if (a === '--keep-versions') o.keepVersions = Number(next());
    else if (a === '--service-env') {
      const [key, ...value] = next().split('=');
      if (!key || value.length === 0) throw new Error('--service-env needs KEY=VALUE');
      o.serviceEnv[key] = value.join('=');
    } else throw new Error(`unknown argument ${a}`);
  }
  if (!(o.duration > 0) || !(o.rate > 0)) throw new Error('--duration and --rate must be > 0');
  return o;
}
