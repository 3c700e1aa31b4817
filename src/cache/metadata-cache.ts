import { CACHE_MANAGER } from '@nestjs/cache-manager';
import { Inject, Injectable } from '@nestjs/common';
import type { Cache } from 'cache-manager';
import { randomUUID } from 'node:crypto';
import { AppConfig } from '../config/app-config';

/**
 * Model metadata cache on @nestjs/cache-manager, scoped by tenant.
 *
 * Invalidation is by generation: every cached value's key embeds the generation of what it
 * depends on (the model, or the tenant's model list), and a write moves that generation to a new
 * random value. A value loaded before a write is therefore never served after it, even when the
 * load finishes after the write (it lands under the old generation). Generations never repeat:
 * a missing one (never written, or lost by the store) is replaced by a new random value, and the
 * read that found it missing is not cached. Values expire after ML_REGISTRY_CACHE_TTL seconds,
 * generation keys after twice that; 0 disables the cache.
 */
@Injectable()
export class MetadataCache {
  private readonly ttlMs: number;
  /**
   * Generations may expire too (a lookup of a name that does not exist makes one, so they must
   * not pile up): an expired one is replaced by a new random value like a missing one, which
   * is safe. Twice the value TTL keeps the common case cached.
   */
  private readonly generationTtlMs: number;

  constructor(
    @Inject(CACHE_MANAGER) private readonly cache: Cache,
    config: AppConfig,
  ) {
    this.ttlMs = config.cacheTtlSeconds * 1000;
    this.generationTtlMs = 2 * this.ttlMs;
  }

  /** A value that depends on one model (the model, its versions, a version). */
  modelScoped<T>(tenant: string, model: string, key: string, load: () => Promise<T>): Promise<T> {
    return this.through(
      `gen:m:${tenant}:${model}`,
      (gen) => `m:${tenant}:${model}:${gen}:${key}`,
      load,
    );
  }

  /** A value that depends on the tenant's list of models (list pages). */
  listScoped<T>(tenant: string, key: string, load: () => Promise<T>): Promise<T> {
    return this.through(`gen:l:${tenant}`, (gen) => `l:${tenant}:${gen}:${key}`, load);
  }

  /** Call after any write to a model, its versions or its stages (also invalidates list pages). */
  async invalidateModel(tenant: string, model: string): Promise<void> {
    if (this.ttlMs === 0) return;
    await this.cache.mset([
      { key: `gen:m:${tenant}:${model}`, value: randomUUID(), ttl: this.generationTtlMs },
      { key: `gen:l:${tenant}`, value: randomUUID(), ttl: this.generationTtlMs },
    ]);
  }

  private async through<T>(
    genKey: string,
    valueKey: (gen: string) => string,
    load: () => Promise<T>,
  ): Promise<T> {
    if (this.ttlMs === 0) return load();
    const gen = await this.cache.get<string>(genKey);
    if (gen === undefined || gen === null) {
      // No generation yet (or the store lost it): start a fresh one, and do not cache what this
      // read loads, since a write may have landed between our read of the key and now.
      await this.cache.set(genKey, randomUUID(), this.generationTtlMs);
      return load();
    }
    const key = valueKey(gen);
    const hit = await this.cache.get<{ v: T }>(key);
    if (hit !== undefined && hit !== null) return hit.v;
    const value = await load();
    await this.cache.set(key, { v: value }, this.ttlMs);
    return value;
  }
}
