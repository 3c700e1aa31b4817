import { createServer, Server, Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { Test } from '@nestjs/testing';
import { loadConfig } from '../config/app-config';
import { MetricsModule } from '../common/metrics/metrics.module';
import { ConfigModule } from '../config/config.module';
import { CacheStore } from './cache-store';
import {
  CACHE_READ_TIMEOUT_MS,
  CACHE_RECOVERY_GRACE_MS,
  CACHE_WRITE_TIMEOUT_MS,
  MetadataCache,
} from './metadata-cache';
import { MetadataCacheModule } from './metadata-cache.module';

/**
 * Just enough of a Redis server (RESP2: PING, GET, SET with PX, MULTI/EXEC, and OK to the
 * client's handshake) to fail the way a real one does: `stop()` closes the port and every
 * connection (a stopped Redis; its data is kept, as a Redis with persistence keeps it), `hang()`
 * keeps the connections open but never answers on them again (a stuck Redis, or a peer that
 * vanished without closing them); after `heal()` new connections are answered again.
 */
class FakeRedis {
  readonly data = new Map<string, string>();
  readonly commands: string[][] = [];
  private server?: Server;
  private readonly sockets = new Set<Socket>();
  private readonly silenced = new WeakSet<Socket>();
  private silent = false;
  connections = 0;
  port = 0;

  async start(): Promise<void> {
    this.silent = false;
    const server = createServer((socket) => this.serve(socket));
    await new Promise<void>((resolve) => server.listen(this.port, '127.0.0.1', resolve));
    this.port = (server.address() as AddressInfo).port;
    this.server = server;
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
    await new Promise<void>((resolve) =>
      this.server ? this.server.close(() => resolve()) : resolve(),
    );
    this.server = undefined;
  }

  hang(): void {
    this.silent = true;
    for (const s of this.sockets) this.silenced.add(s);
  }

  heal(): void {
    this.silent = false;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  private serve(socket: Socket): void {
    this.connections++;
    this.sockets.add(socket);
    if (this.silent) this.silenced.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('error', () => undefined);
    let buffer = Buffer.alloc(0);
    let queued: string[][] | undefined;
    socket.on('data', (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      for (;;) {
        const parsed = parseCommand(buffer);
        if (parsed === undefined) break;
        buffer = buffer.subarray(parsed.length);
        if (this.silenced.has(socket)) continue;
        const command = parsed.args;
        this.commands.push(command);
        const name = command[0].toUpperCase();
        if (name === 'MULTI') {
          queued = [];
          socket.write('+OK\r\n');
        } else if (name === 'EXEC') {
          const replies = (queued ?? []).map((c) => this.execute(c));
          queued = undefined;
          socket.write(`*${replies.length}\r\n${replies.join('')}`);
        } else if (queued !== undefined) {
          queued.push(command);
          socket.write('+QUEUED\r\n');
        } else {
          socket.write(this.execute(command));
        }
      }
    });
  }

  private execute([name, ...args]: string[]): string {
    switch (name.toUpperCase()) {
      case 'PING':
        return '+PONG\r\n';
      case 'GET': {
        const value = this.data.get(args[0]);
        return value === undefined ? '$-1\r\n' : `$${Buffer.byteLength(value)}\r\n${value}\r\n`;
      }
      case 'SET':
        this.data.set(args[0], args[1]);
        return '+OK\r\n';
      default:
        return '+OK\r\n';
    }
  }
}

function parseCommand(buffer: Buffer): { args: string[]; length: number } | undefined {
  const text = buffer.toString('latin1');
  if (!text.startsWith('*')) return undefined;
  let at = text.indexOf('\r\n');
  if (at < 0) return undefined;
  const count = Number(text.slice(1, at));
  at += 2;
  const args: string[] = [];
  for (let i = 0; i < count; i++) {
    const end = text.indexOf('\r\n', at);
    if (end < 0) return undefined;
    const size = Number(text.slice(at + 1, end));
    const start = end + 2;
    if (text.length < start + size + 2) return undefined;
    args.push(buffer.subarray(start, start + size).toString('utf8'));
    at = start + size + 2;
  }
  return { args, length: at };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function eventually(check: () => boolean | Promise<boolean>, timeoutMs = 10_000) {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await sleep(50);
  }
}

/** A loader that counts its calls and returns what `value` holds at call time. */
function source<T>(initial: T) {
  const state = { value: initial, calls: 0 };
  const load = () => {
    state.calls++;
    return Promise.resolve(state.value);
  };
  return { state, load };
}

async function timed<T>(work: Promise<T>): Promise<{ value: T; ms: number }> {
  const started = Date.now();
  const value = await work;
  return { value, ms: Date.now() - started };
}

describe('MetadataCache on Redis, when Redis fails', () => {
  let redis: FakeRedis;
  let cache: MetadataCache;
  let close: () => Promise<void>;

  beforeEach(async () => {
    redis = new FakeRedis();
    await redis.start();
    const config = loadConfig({
      AUTH_JWT_SECRET: 'x'.repeat(32),
      ML_REGISTRY_CACHE_TTL: '3600',
      DATA_DIR: '/tmp/unused',
      REDIS_URL: redis.url,
      ML_REGISTRY_NAMESPACE: 'blue',
    });
    const moduleRef = await Test.createTestingModule({
      imports: [ConfigModule.forRoot(config), MetricsModule.forRoot(config), MetadataCacheModule],
    }).compile();
    cache = moduleRef.get(MetadataCache);
    close = async () => {
      await moduleRef.close();
    };
    await moduleRef.init();
  });

  afterEach(async () => {
    await close();
    await redis.stop();
  });

  /** A value cached in Redis: its next read is served from there. */
  async function cached(value: string) {
    await cache.invalidateModel('acme', 'churn');
    const s = source(value);
    await cache.modelScoped('acme', 'churn', 'v:1', s.load);
    expect(await cache.modelScoped('acme', 'churn', 'v:1', s.load)).toBe(value);
    expect(s.state.calls).toBe(1);
    return s;
  }

  it('hands out frozen values from Redis as the memory store does: a hit, a miss, and while bypassed', async () => {
    await cache.invalidateModel('acme', 'churn');
    const load = () => Promise.resolve({ version: 1, tags: { a: 'b' }, metrics: [1, 2] });
    const first = await cache.modelScoped('acme', 'churn', 'v:1', load); // not cached yet
    const miss = await cache.modelScoped('acme', 'churn', 'v:1', load); // loaded, written
    const hit = await cache.modelScoped('acme', 'churn', 'v:1', load); // read back from Redis
    await redis.stop();
    const bypassed = await cache.modelScoped('acme', 'churn', 'v:1', load);
    for (const value of [first, miss, hit, bypassed]) {
      expect(Object.isFrozen(value)).toBe(true);
      expect(Object.isFrozen(value.tags)).toBe(true);
      expect(Object.isFrozen(value.metrics)).toBe(true);
      expect(() => ((value.tags as { a: string }).a = 'changed')).toThrow(TypeError);
    }
    expect(hit).toEqual({ version: 1, tags: { a: 'b' }, metrics: [1, 2] });
  });

  it('keeps every key under the namespace', async () => {
    await cached('x');
    const keys = [...redis.data.keys()];
    expect(keys.length).toBeGreaterThanOrEqual(3);
    for (const key of keys) expect(key.startsWith('blue::')).toBe(true);
    await expect(cache.ping()).resolves.toBeUndefined();
  });

  it('a stopped Redis: reads load from the backend at once, invalidations do not fail', async () => {
    const s = await cached('before');
    await redis.stop();
    s.state.value = 'after';
    const write = await timed(cache.invalidateModel('acme', 'churn'));
    expect(write.ms).toBeLessThan(CACHE_WRITE_TIMEOUT_MS + 200);
    for (let i = 0; i < 3; i++) {
      const read = await timed(cache.modelScoped('acme', 'churn', 'v:1', s.load));
      expect(read.value).toBe('after');
      expect(read.ms).toBeLessThan(CACHE_READ_TIMEOUT_MS);
    }
    const list = await timed(cache.listScoped('acme', 'page', () => Promise.resolve(['churn'])));
    expect(list.value).toEqual(['churn']);
    await expect(cache.ping()).rejects.toThrow();
    expect(cache.active).toBe(false);
  });

  it('a Redis that stops answering: reads give up on it within the bound', async () => {
    const s = await cached('before');
    redis.hang();
    s.state.value = 'after';
    const first = await timed(cache.modelScoped('acme', 'churn', 'v:1', s.load));
    expect(first.value).toBe('after');
    expect(first.ms).toBeGreaterThanOrEqual(CACHE_READ_TIMEOUT_MS - 10);
    expect(first.ms).toBeLessThan(CACHE_READ_TIMEOUT_MS + 200);
    // from then on the cache is bypassed without waiting on it
    const next = await timed(cache.modelScoped('acme', 'churn', 'v:1', s.load));
    expect(next.value).toBe('after');
    expect(next.ms).toBeLessThan(50);
    const write = await timed(cache.invalidateModel('acme', 'churn'));
    expect(write.ms).toBeLessThan(CACHE_WRITE_TIMEOUT_MS + 200);
    await expect(cache.ping()).rejects.toThrow(/within/);
  });

  it('a connection that stays silent is replaced, and the cache used again', async () => {
    const s = await cached('before');
    redis.hang(); // the open connection will never answer again
    s.state.value = 'after';
    expect(await cache.modelScoped('acme', 'churn', 'v:1', s.load)).toBe('after');
    await cache.invalidateModel('acme', 'churn'); // times out: remembered
    const connections = redis.connections;
    redis.heal(); // a new connection would be answered
    await eventually(() => redis.connections > connections, 8_000);
    await eventually(() => cache.active, CACHE_RECOVERY_GRACE_MS + 3_000);
    expect(await cache.modelScoped('acme', 'churn', 'v:1', s.load)).toBe('after');
    expect(await cache.modelScoped('acme', 'churn', 'v:1', s.load)).toBe('after');
    await expect(cache.ping()).resolves.toBeUndefined();
  }, 20_000);

  it('an invalidation that failed is made once Redis is back, before the cache is used again', async () => {
    const s = await cached('before');
    await redis.stop();
    // A write lands while Redis is down: its invalidation cannot be made now.
    s.state.value = 'after';
    await cache.invalidateModel('acme', 'churn');
    expect(await cache.modelScoped('acme', 'churn', 'v:1', s.load)).toBe('after');
    // Redis comes back with its data: the entry from before the write is still in it.
    await redis.start();
    const setsBefore = redis.commands.filter((c) => c[0].toUpperCase() === 'SET').length;
    await eventually(
      () => redis.commands.filter((c) => c[0].toUpperCase() === 'SET').length > setsBefore,
    );
    // The generations moved (the replayed invalidation); until the grace period is over the
    // cache is still bypassed, then it is used again: no restart needed.
    expect(cache.active).toBe(false);
    expect(await cache.modelScoped('acme', 'churn', 'v:1', s.load)).toBe('after');
    await eventually(() => cache.active, CACHE_RECOVERY_GRACE_MS + 2_000);
    const calls = s.state.calls;
    expect(await cache.modelScoped('acme', 'churn', 'v:1', s.load)).toBe('after'); // caches
    expect(await cache.modelScoped('acme', 'churn', 'v:1', s.load)).toBe('after'); // hit
    expect(s.state.calls).toBe(calls + 1);
    await expect(cache.ping()).resolves.toBeUndefined();
  });

  it('a value loaded while an invalidation failed is not cached', async () => {
    const s = await cached('before');
    let release!: () => void;
    const slow = () =>
      new Promise<string>((resolve) => {
        release = () => resolve('stale');
      });
    await cache.invalidateModel('acme', 'churn');
    const reading = cache.modelScoped('acme', 'churn', 'v:2', slow); // passes the cache reads
    await sleep(20);
    await redis.stop();
    await cache.invalidateModel('acme', 'churn'); // fails: remembered
    await redis.start();
    release();
    expect(await reading).toBe('stale');
    const keys = [...redis.data.keys()].filter((k) => k.endsWith(':v:2'));
    expect(keys).toEqual([]);
    expect(s.state.calls).toBe(1);
  });
});

describe('CacheStore without Redis', () => {
  it('pings at once', async () => {
    await expect(CacheStore.memory().ping()).resolves.toBeUndefined();
  });
});
