import { Test } from '@nestjs/testing';
import { loadConfig } from '../config/app-config';
import { MetricsModule } from '../common/metrics/metrics.module';
import { ConfigModule } from '../config/config.module';
import { CacheStore, MEMORY_MAX_ENTRIES } from './cache-store';
import { MetadataCache } from './metadata-cache';
import { MetadataCacheModule } from './metadata-cache.module';

async function cacheWithTtl(seconds: number): Promise<MetadataCache> {
  const config = loadConfig({
    AUTH_JWT_SECRET: 'x'.repeat(32),
    ML_REGISTRY_CACHE_TTL: String(seconds),
    DATA_DIR: '/tmp/unused',
  });
  const moduleRef = await Test.createTestingModule({
    imports: [ConfigModule.forRoot(config), MetricsModule.forRoot(config), MetadataCacheModule],
  }).compile();
  return moduleRef.get(MetadataCache);
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

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('MetadataCache', () => {
  it('does not cache the first read of something no write has touched; caches the next', async () => {
    const cache = await cacheWithTtl(300);
    const { state, load } = source({ stage: 'none' });
    await cache.modelScoped('acme', 'churn', 'v:1', load); // no generation yet: starts one
    await cache.modelScoped('acme', 'churn', 'v:1', load); // loads and caches
    expect(await cache.modelScoped('acme', 'churn', 'v:1', load)).toEqual({ stage: 'none' });
    expect(state.calls).toBe(2);
  });

  it('never serves what a write changed: invalidation moves the generation', async () => {
    const cache = await cacheWithTtl(300);
    await cache.invalidateModel('acme', 'churn');
    const { state, load } = source('staging');
    await cache.modelScoped('acme', 'churn', 'v:1', load);
    expect(await cache.modelScoped('acme', 'churn', 'v:1', load)).toBe('staging');
    state.value = 'production';
    await cache.invalidateModel('acme', 'churn');
    expect(await cache.modelScoped('acme', 'churn', 'v:1', load)).toBe('production');
  });

  it('a load that started before a write and finishes after it is not served afterwards', async () => {
    const cache = await cacheWithTtl(300);
    await cache.invalidateModel('acme', 'churn');
    let release!: () => void;
    const slow = () =>
      new Promise<string>((resolve) => {
        release = () => resolve('stale');
      });
    const reading = cache.modelScoped('acme', 'churn', 'v:1', slow);
    await sleep(5);
    await cache.invalidateModel('acme', 'churn'); // the write lands while the read is in flight
    release();
    expect(await reading).toBe('stale'); // that caller asked before the write: fine
    expect(await cache.modelScoped('acme', 'churn', 'v:1', () => Promise.resolve('fresh'))).toBe(
      'fresh',
    );
  });

  it('... nor once the value TTL has passed: generations do not expire back to an old value', async () => {
    const cache = await cacheWithTtl(1);
    let current = 'OLD'; // and no write yet: the read below finds no generation
    const slowLoad = async () => {
      const seen = current;
      await sleep(600);
      return seen;
    };
    const reading = cache.modelScoped('acme', 'churn', 'v:1', slowLoad);
    await sleep(300);
    current = 'NEW';
    await cache.invalidateModel('acme', 'churn');
    await reading;
    const load = () => Promise.resolve(current);
    // Poll past the value TTL, and past what a generation key with that TTL would live.
    for (let elapsed = 0; elapsed < 1600; elapsed += 100) {
      expect(await cache.modelScoped('acme', 'churn', 'v:1', load)).toBe('NEW');
      await sleep(100);
    }
  });

  it('invalidating a model also invalidates the tenant’s list pages, but not other models', async () => {
    const cache = await cacheWithTtl(300);
    await cache.invalidateModel('acme', 'fraud');
    const list = source(['churn']);
    const other = source('fraud v1');
    await cache.listScoped('acme', 'list:100:', list.load);
    await cache.modelScoped('acme', 'fraud', 'v:1', other.load);
    await cache.invalidateModel('acme', 'churn');
    await cache.listScoped('acme', 'list:100:', list.load);
    await cache.modelScoped('acme', 'fraud', 'v:1', other.load);
    expect(list.state.calls).toBe(2);
    expect(other.state.calls).toBe(1);
  });

  it('keeps tenants apart: same model name, separate entries and invalidation', async () => {
    const cache = await cacheWithTtl(300);
    await cache.invalidateModel('acme', 'churn');
    await cache.invalidateModel('globex', 'churn');
    const read = (tenant: string, value: string) =>
      cache.modelScoped(tenant, 'churn', 'v:1', () => Promise.resolve(value));
    expect(await read('acme', 'acme data')).toBe('acme data');
    expect(await read('globex', 'globex data')).toBe('globex data');
    await cache.invalidateModel('globex', 'churn');
    expect(await read('acme', 'reloaded')).toBe('acme data');
    expect(await read('globex', 'globex reloaded')).toBe('globex reloaded');
    expect(await cache.listScoped('acme', 'k', () => Promise.resolve('acme list'))).toBe(
      'acme list',
    );
    expect(await cache.listScoped('globex', 'k', () => Promise.resolve('globex list'))).toBe(
      'globex list',
    );
  });

  it('hands out frozen values, the same object to every reader, and frozen ones with the cache off too', async () => {
    const load = () => Promise.resolve({ tags: { a: 'b' }, list: [{ x: 1 }] });
    const cache = await cacheWithTtl(60);
    await cache.modelScoped('acme', 'churn', 'k', load);
    const one = await cache.modelScoped('acme', 'churn', 'k', load);
    const two = await cache.modelScoped('acme', 'churn', 'k', load);
    expect(two).toBe(one);
    const off = await (await cacheWithTtl(0)).modelScoped('acme', 'churn', 'k', load);
    for (const value of [one, off]) {
      expect(Object.isFrozen(value.list[0])).toBe(true);
      expect(() => ((value.tags as { a: string }).a = 'changed')).toThrow(TypeError);
    }
  });

  it('ML_REGISTRY_CACHE_TTL=0 turns caching off', async () => {
    const cache = await cacheWithTtl(0);
    await cache.invalidateModel('acme', 'churn');
    const { state, load } = source(1);
    for (let i = 0; i < 3; i++) await cache.modelScoped('acme', 'churn', 'v:1', load);
    expect(state.calls).toBe(3);
  });

  it('expires values after the TTL', async () => {
    const cache = await cacheWithTtl(1);
    await cache.invalidateModel('acme', 'churn');
    const { state, load } = source('x');
    await cache.modelScoped('acme', 'churn', 'v:1', load);
    await cache.modelScoped('acme', 'churn', 'v:1', load);
    expect(state.calls).toBe(1);
    await sleep(1100);
    await cache.modelScoped('acme', 'churn', 'v:1', load);
    expect(state.calls).toBe(2);
  });

  it('lets generations expire too (lookups of names that do not exist must not pile up)', async () => {
    const cache = await cacheWithTtl(1);
    await cache.invalidateModel('acme', 'churn');
    const { state, load } = source('x');
    await cache.modelScoped('acme', 'churn', 'v:1', load);
    await cache.modelScoped('acme', 'churn', 'v:1', load);
    expect(state.calls).toBe(1);
    await sleep(2200); // past the value TTL and the generation's (twice the value TTL)
    await cache.modelScoped('acme', 'churn', 'v:1', load); // no generation: a new one, not cached
    await cache.modelScoped('acme', 'churn', 'v:1', load); // cached under the new generation
    await cache.modelScoped('acme', 'churn', 'v:1', load);
    expect(state.calls).toBe(3);
  });

  it('caches falsy values too (an empty list is an answer)', async () => {
    const cache = await cacheWithTtl(300);
    await cache.invalidateModel('acme', 'any');
    const { state, load } = source<string[]>([]);
    await cache.listScoped('acme', 'empty', load);
    await cache.listScoped('acme', 'empty', load);
    expect(state.calls).toBe(1);
  });
});

describe('the in-process store', () => {
  it('is bounded: beyond MEMORY_MAX_ENTRIES the least recently used entries go', () => {
    const store = CacheStore.memory(300_000);
    const memory = store.memory!;
    memory.set('first', { v: 0 }, 300_000);
    for (let i = 0; i < MEMORY_MAX_ENTRIES + 500; i++) memory.set(`k${i}`, { v: i }, 300_000);
    expect(memory.size).toBeLessThanOrEqual(MEMORY_MAX_ENTRIES);
    expect(memory.get('first')).toBeUndefined();
    expect(memory.get(`k${MEMORY_MAX_ENTRIES + 499}`)).toEqual({ v: MEMORY_MAX_ENTRIES + 499 });
  });
});
