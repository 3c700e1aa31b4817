import { Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { AppConfig } from '../config/app-config';
import type { CacheableMemory } from '@cacheable/memory';
import { deepFreeze, Frozen, servedManyTimes } from '../common/fast-path';
import { Metrics } from '../common/metrics/metrics';
import { CacheStore } from './cache-store';

/** A cache read (generation or value) that takes longer is abandoned: the backend answers. */
export const CACHE_READ_TIMEOUT_MS = 250;
/** An invalidation that takes longer counts as failed (and is retried, see below). */
export const CACHE_WRITE_TIMEOUT_MS = 500;
/** While the cache is unusable, how often failed invalidations are retried and Redis probed. */
export const CACHE_RECOVERY_INTERVAL_MS = 1_000;
/** Recovery rounds in a row without any answer before the connection is replaced. */
export const CACHE_RECONNECT_AFTER_SILENT_ROUNDS = 3;
/**
 * How long a replica keeps bypassing the cache once Redis answers again: long enough for the
 * other replicas to replay the invalidations they could not make meanwhile (they retry every
 * CACHE_RECOVERY_INTERVAL_MS), so none of their writes is hidden by an entry from before it.
 */
export const CACHE_RECOVERY_GRACE_MS = 3 * CACHE_RECOVERY_INTERVAL_MS;

class CacheTimeout extends Error {
  constructor(ms: number) {
    super(`no answer from the cache within ${ms} ms`);
  }
}

/**
 * Model metadata cache, scoped by tenant, in the CacheStore (Redis shared by the replicas, or
 * process memory).
 *
 * Invalidation is by generation: every cached value's key embeds the generation of what it
 * depends on (the model, or the tenant's model list), and a write moves that generation to a new
 * random value. A value loaded before a write is therefore never served after it, even when the
 * load finishes after the write (it lands under the old generation), and whichever replica
 * reads next: the generation lives in the shared store. Generations never repeat: a missing one
 * (never written, or lost by the store) is replaced by a new random value, and the read that
 * found it missing is not cached. Values expire after ML_REGISTRY_CACHE_TTL seconds, generation
 * keys after twice that; 0 disables the cache.
 *
 * When the store fails (Redis down, restarting, or too slow):
 *  - A read never waits more than CACHE_READ_TIMEOUT_MS for it and never fails because of it:
 *    it loads from the backend. The client refuses commands at once while disconnected.
 *  - An invalidation that fails after a successful write does not fail the request. It is
 *    remembered and retried every CACHE_RECOVERY_INTERVAL_MS until it succeeds; meanwhile this
 *    replica bypasses the cache altogether, so it never serves what that write changed.
 *  - After any failure the cache stays bypassed until Redis answers a PING and every remembered
 *    invalidation has been made, plus CACHE_RECOVERY_GRACE_MS so that other replicas can
 *    replay theirs. Then it is used again; no restart needed. The client reconnects by itself
 *    when the connection closes; a connection that stays open but silent for
 *    CACHE_RECONNECT_AFTER_SILENT_ROUNDS rounds is replaced.
 * What this cannot cover: another replica that keeps reading a Redis this one cannot reach (a
 * partial partition) may serve entries this replica's failed invalidations should have
 * retired, until they are replayed or expire; and invalidations pending in a replica that
 * dies are lost (those entries expire with the TTL).
 */
@Injectable()
export class MetadataCache implements OnApplicationShutdown {
  private readonly logger = new Logger(MetadataCache.name);
  private readonly ttlMs: number;
  /**
   * Generations may expire too (a lookup of a name that does not exist makes one, so they must
   * not pile up): an expired one is replaced by a new random value like a missing one, which
   * is safe. Twice the value TTL keeps the common case cached.
   */
  private readonly generationTtlMs: number;
  /** Invalidations that failed, by tenant and model, waiting to be made. */
  private readonly pending = new Map<string, { tenant: string; model: string }>();
  /** The cache is used only from this time on (Infinity: not until Redis answers again). */
  private usableFrom = 0;
  private recovery?: NodeJS.Timeout;
  private recovering = false;
  /** Recovery rounds in a row that got no answer at all (not even a refusal). */
  private silentRounds = 0;

  constructor(
    private readonly store: CacheStore,
    config: AppConfig,
    private readonly metrics: Metrics,
  ) {
    this.ttlMs = config.cacheTtlSeconds * 1000;
    this.generationTtlMs = 2 * this.ttlMs;
  }

  /** A value that depends on one model (the model, its versions, a version). */
  modelScoped<T>(
    tenant: string,
    model: string,
    key: string,
    load: () => Promise<T>,
  ): Promise<Frozen<T>> {
    return this.through(
      'model',
      `gen:m:${tenant}:${model}`,
      (gen) => `m:${tenant}:${model}:${gen}:${key}`,
      load,
    );
  }

  /** A value that depends on the tenant's list of models (list pages). */
  listScoped<T>(tenant: string, key: string, load: () => Promise<T>): Promise<Frozen<T>> {
    return this.through('list', `gen:l:${tenant}`, (gen) => `l:${tenant}:${gen}:${key}`, load);
  }

  /**
   * Call after any write to a model, its versions or its stages (also invalidates list pages).
   * Never fails: an invalidation the store cannot take now is made later (see the class).
   */
  async invalidateModel(tenant: string, model: string): Promise<void> {
    if (this.ttlMs === 0) return;
    try {
      await this.moveGenerations(tenant, model);
    } catch (err) {
      this.pending.set(JSON.stringify([tenant, model]), { tenant, model });
      this.failed(err, 'an invalidation failed; it is retried, and the cache is bypassed');
    }
  }

  /** Readiness: a round trip to Redis (PING); resolves at once for the in-memory store. */
  ping(): Promise<void> {
    return this.bounded(this.store.ping(), CACHE_READ_TIMEOUT_MS);
  }

  /** True while reads use the cache (false: bypassed after a failure, see the class). */
  get active(): boolean {
    return this.ttlMs > 0 && this.pending.size === 0 && Date.now() >= this.usableFrom;
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.recovery);
    this.recovery = undefined;
    await this.store.close();
  }

  private moveGenerations(tenant: string, model: string): Promise<unknown> {
    const memory = this.store.memory;
    if (memory !== undefined) {
      memory.set(`gen:m:${tenant}:${model}`, randomUUID(), this.generationTtlMs);
      memory.set(`gen:l:${tenant}`, randomUUID(), this.generationTtlMs);
      return Promise.resolve();
    }
    return this.bounded(
      this.store.keyv.setMany([
        { key: `gen:m:${tenant}:${model}`, value: randomUUID(), ttl: this.generationTtlMs },
        { key: `gen:l:${tenant}`, value: randomUUID(), ttl: this.generationTtlMs },
      ]),
      CACHE_WRITE_TIMEOUT_MS,
    );
  }

  /**
   * The value under `valueKey(generation)`, or `load()`'s, cached. Counted in
   * registry_cache_lookups_total: a hit, a miss (loaded: no value, or no generation yet), or a
   * bypass (the cache is off, or not to be trusted now).
   */
  private async through<T>(
    scope: 'model' | 'list',
    genKey: string,
    valueKey: (gen: string) => string,
    load: () => Promise<T>,
  ): Promise<Frozen<T>> {
    // Frozen on every path (a hit, a miss, the cache bypassed; memory and Redis alike), so a
    // reader never depends on which one it got.
    const fresh = async (): Promise<Frozen<T>> => deepFreeze(await load());
    if (!this.active) {
      this.metrics.cacheLookup(scope, 'bypass');
      return fresh();
    }
    if (this.store.memory !== undefined) {
      return this.throughMemory(this.store.memory, scope, genKey, valueKey, fresh);
    }
    let gen: string | undefined;
    try {
      gen = await this.bounded(this.store.keyv.get<string>(genKey), CACHE_READ_TIMEOUT_MS);
    } catch (err) {
      this.failed(err, 'a cache read failed; the cache is bypassed');
      this.metrics.cacheLookup(scope, 'bypass');
      return fresh();
    }
    if (gen === undefined || gen === null) {
      // No generation yet (or the store lost it): start a fresh one, and do not cache what this
      // read loads, since a write may have landed between our read of the key and now.
      await this.bounded(
        this.store.keyv.set(genKey, randomUUID(), this.generationTtlMs),
        CACHE_READ_TIMEOUT_MS,
      ).catch((err: unknown) => this.failed(err, 'a cache write failed; the cache is bypassed'));
      this.metrics.cacheLookup(scope, 'miss');
      return fresh();
    }
    const key = valueKey(gen);
    let hit: { v: T } | undefined;
    try {
      // Keyv deserializes a new object on every read: frozen too, as the memory store's are.
      hit = await this.bounded(this.store.keyv.get<{ v: T }>(key), CACHE_READ_TIMEOUT_MS);
    } catch (err) {
      this.failed(err, 'a cache read failed; the cache is bypassed');
      this.metrics.cacheLookup(scope, 'bypass');
      return fresh();
    }
    if (hit !== undefined && hit !== null) {
      this.metrics.cacheLookup(scope, 'hit');
      return deepFreeze(hit.v);
    }
    this.metrics.cacheLookup(scope, 'miss');
    const value = await fresh();
    // An invalidation that failed while this loaded may be for exactly this value: keep it out.
    if (this.active) {
      await this.bounded(
        this.store.keyv.set(key, { v: value }, this.ttlMs),
        CACHE_READ_TIMEOUT_MS,
      ).catch((err: unknown) => this.failed(err, 'a cache write failed; the cache is bypassed'));
    }
    return value;
  }

  /**
   * `through` on the process-memory store: synchronous reads and writes that cannot fail or
   * hang, so none of the timeouts and none of Keyv's serialization. Values are stored as they
   * are, frozen (a caller mutating a cached value would change what later readers get: frozen,
   * it throws instead), and the same object is handed to every reader.
   */
  private async throughMemory<T>(
    memory: CacheableMemory,
    scope: 'model' | 'list',
    genKey: string,
    valueKey: (gen: string) => string,
    fresh: () => Promise<Frozen<T>>,
  ): Promise<Frozen<T>> {
    const gen = memory.get<string>(genKey);
    if (gen === undefined) {
      // No generation yet (or it expired): start one, and do not cache this read (see `through`).
      memory.set(genKey, randomUUID(), this.generationTtlMs);
      this.metrics.cacheLookup(scope, 'miss');
      return fresh();
    }
    const key = valueKey(gen);
    const hit = memory.get<{ v: Frozen<T> }>(key);
    if (hit !== undefined) {
      this.metrics.cacheLookup(scope, 'hit');
      return hit.v;
    }
    this.metrics.cacheLookup(scope, 'miss');
    // The same object is served to every reader until it expires: its JSON answer can be
    // encoded once (see frozen-json.ts).
    const value = servedManyTimes(await fresh());
    memory.set(key, { v: value }, this.ttlMs);
    return value;
  }

  /** Stops using the cache until it has recovered (see the class), and starts the recovery. */
  private failed(err: unknown, what: string): void {
    if (this.usableFrom !== Infinity) {
      this.logger.warn(`${what}: ${err instanceof Error ? err.message : String(err)}`);
    }
    this.usableFrom = Infinity;
    if (this.recovery !== undefined) return;
    this.recovery = setInterval(() => void this.recover(), CACHE_RECOVERY_INTERVAL_MS);
    this.recovery.unref();
  }

  /** One recovery round: replay the failed invalidations, then check that Redis answers. */
  private async recover(): Promise<void> {
    if (this.recovering) return;
    this.recovering = true;
    try {
      for (const [id, { tenant, model }] of this.pending) {
        await this.moveGenerations(tenant, model);
        this.pending.delete(id);
      }
      await this.ping();
      this.silentRounds = 0;
      clearInterval(this.recovery);
      this.recovery = undefined;
      this.usableFrom = Date.now() + CACHE_RECOVERY_GRACE_MS;
      this.logger.log(
        `the cache answers again; it is used from ${CACHE_RECOVERY_GRACE_MS} ms from now`,
      );
    } catch (err) {
      // Still down: next round. A refusal means the client knows it is disconnected and is
      // reconnecting; silence means the connection may be dead without the client knowing.
      this.silentRounds = err instanceof CacheTimeout ? this.silentRounds + 1 : 0;
      if (this.silentRounds >= CACHE_RECONNECT_AFTER_SILENT_ROUNDS) {
        this.silentRounds = 0;
        this.store.reconnect();
      }
    } finally {
      this.recovering = false;
    }
  }

  /** `work`, or a CacheTimeout after `ms`; the work itself is abandoned, not cancelled. */
  private bounded<T>(work: Promise<T>, ms: number): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new CacheTimeout(ms)), ms);
    });
    work.catch(() => undefined); // a late failure of abandoned work is not unhandled
    return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
  }
}
