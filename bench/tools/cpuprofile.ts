import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** Where a frame's code comes from: a package, the service (src/dist), or node itself. */
function origin(url: string): string {
  const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (m) return m[1];
  if (url.includes('/dist/')) return `service:${url.split('/dist/')[1]}`;
  if (url.startsWith('node:')) return url;
  return url === '' ? '(native/gc)' : url;
}

const CATEGORIES: [RegExp, string][] = [
  [
    /^(pino|pino-http|pino-std-serializers|sonic-boom|nestjs-pino|@pinojs\/.*|fast-redact|thread-stream)$/,
    'logging (pino, pino-http)',
  ],
  [/^(jose)$|^service:common\/auth/, 'authentication (jose, AuthGuard)'],
  [
    /^(class-validator|class-transformer|validator)$|^service:common\/validation/,
    'validation (class-validator/transformer)',
  ],
  [
    /^(keyv|@keyv\/.*|@cacheable\/.*|cacheable|hashery|hookified)$|^service:cache/,
    'cache (keyv, CacheableMemory)',
  ],
  [
    /^(@nestjs\/core|@nestjs\/common|rxjs|reflect-metadata|@nestjs\/swagger)$/,
    'NestJS core (pipeline, rxjs)',
  ],
  [
    /^(@nestjs\/platform-express|express|router|body-parser|raw-body|on-finished|finalhandler|send|qs|content-type|type-is|media-typer|mime-types|path-to-regexp|iconv-lite)$/,
    'Express (router, body-parser)',
  ],
  [/^service:common\/http/, 'service HTTP middleware (deadline, deferred body parser)'],
  [/^service:/, 'service code (controllers, services, mappers)'],
  [/^(kysely|better-sqlite3|pg|pg-pool)$/, 'database'],
];

function category(o: string): string | undefined {
  for (const [re, name] of CATEGORIES) if (re.test(o)) return name;
  if (o.startsWith('node:') || o === '(native/gc)') return undefined;
  return `other: ${o}`;
}

/** Self time by function and by origin, heaviest first, and inclusive time by origin. */
export function summarizeProfile(file: string, lastSeconds = Infinity, top = 30): string {
  const p = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  // Only the last `lastSeconds` of the profile (the load, not the boot).
  let budget = lastSeconds * 1e6;
  for (let i = p.samples.length - 1; i >= 0 && budget > 0; i--) {
    const dt = p.timeDeltas[i] ?? 0;
    budget -= dt;
    const n = byId.get(p.samples[i])!;
    if (n.callFrame.functionName === '(idle)' || n.callFrame.functionName === '(program)') continue;
    self.set(p.samples[i], (self.get(p.samples[i]) ?? 0) + dt);
  }
  const total = [...self.values()].reduce((a, b) => a + b, 0);
  const fn = new Map<string, number>();
  const pkg = new Map<string, number>();
  for (const [id, t] of self) {
    const n = byId.get(id)!;
    const key = `${n.callFrame.functionName || '(anonymous)'} ${origin(n.callFrame.url)}:${n.callFrame.lineNumber + 1}`;
    fn.set(key, (fn.get(key) ?? 0) + t);
    const o = origin(n.callFrame.url);
    pkg.set(
      o.startsWith('service:') ? `service:${o.split(':')[1].split('/')[0]}` : o,
      (pkg.get(o) ?? 0) + t,
    );
  }
  // Inclusive: a sample counts once for every origin on its stack.
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const inclFn = new Map<string, number>();
  for (const [id, t] of self) {
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const f = byId.get(cur)!.callFrame;
      const o = origin(f.url);
      if (o.startsWith('node:') || o === '(native/gc)') continue;
      const key = `${f.functionName || '(anonymous)'} ${o}:${f.lineNumber + 1}`;
      if (!seen.has(key)) {
        seen.add(key);
        inclFn.set(key, (inclFn.get(key) ?? 0) + t);
      }
    }
  }
  const incl = new Map<string, number>();
  for (const [id, t] of self) {
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const o = origin(byId.get(cur)!.callFrame.url);
      const key = o.startsWith('service:') ? `service:${o.split(':')[1].replace(/\.js$/, '')}` : o;
      if (!seen.has(key)) {
        seen.add(key);
        incl.set(key, (incl.get(key) ?? 0) + t);
      }
    }
  }
  // Self time by the nearest package/service frame on the stack, grouped by concern.
  const byCategory = new Map<string, number>();
  for (const [id, t] of self) {
    let cat = 'node core (http, streams, timers, gc)';
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const c = category(origin(byId.get(cur)!.callFrame.url));
      if (c !== undefined) {
        cat = c;
        break;
      }
    }
    byCategory.set(cat, (byCategory.get(cat) ?? 0) + t);
  }
  const fmt = (m: Map<string, number>, n = top): string =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([k, t]) => `${((t / total) * 100).toFixed(1).padStart(5)}%  ${k}`)
      .join('\n');
  return `self time by function:\n${fmt(fn)}\n\nself time by origin:\n${fmt(pkg)}\n\nself time by concern (nearest package frame):\n${fmt(byCategory)}\n\ninclusive time by origin:\n${fmt(incl)}\n\ninclusive time by package function:\n${fmt(inclFn, 60)}`;
}
