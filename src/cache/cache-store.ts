import { CacheableMemory } from '@cacheable/memory';
import KeyvRedis, { createClient, type RedisClientType } from '@keyv/redis';
import { Logger } from '@nestjs/common';
import { Keyv } from 'keyv';

/** How long the boot waits for Redis before it starts without the cache (it connects later). */
const CONNECT_AT_BOOT_MS = 2_000;
/** Opening one connection (a host that drops packets must not stall reconnection). */
const CONNECT_TIMEOUT_MS = 2_000;
/** Commands that pile up on a connection that stopped answering are refused beyond this. */
const MAX_QUEUED_COMMANDS = 1_000;
/** Reconnection attempts back off exponentially up to this, and never stop. */
const MAX_RECONNECT_DELAY_MS = 2_000;
/** While Redis is down, one log line per this long. */
const LOG_EVERY_MS = 60_000;

/**
 * Where MetadataCache keeps its entries: Redis when REDIS_URL is set (shared by the replicas of
 * a deployment, every key prefixed with ML_REGISTRY_NAMESPACE when set), process memory
 * otherwise. Both are Keyv stores; MetadataCache bounds every call and decides what a failure
 * means (see there).
 *
 * The Redis client never queues a command while it is disconnected (disableOfflineQueue): the
 * command fails at once, so a Redis that is down costs a read nothing. It reconnects by itself
 * for as long as the process lives, so a Redis that restarts is used again without a restart.
 */
/** The in-process cache's bound (entries are model documents, versions and list pages). */
export const MEMORY_MAX_ENTRIES = 10_000;

export class CacheStore {
  private static readonly logger = new Logger('MetadataCache');

  private constructor(
    readonly keyv: Keyv,
    private readonly redis?: RedisClientType,
    /**
     * The process-memory store itself, for MetadataCache's synchronous fast path: values are
     * kept as they are (no serialization, no clone on read) and must therefore never be
     * mutated; MetadataCache freezes them. Undefined with Redis.
     */
    readonly memory?: CacheableMemory,
  ) {}

  /**
   * Process memory, bounded: at most MEMORY_MAX_ENTRIES entries, the least recently used evicted
   * first (an evicted generation is safe: a missing one is replaced and its old entries become
   * unreachable). No default TTL (each key has its own); expired entries are swept every TTL,
   * at least once a minute, so memory follows the live data rather than the write rate.
   */
  static memory(ttlMs = 60_000): CacheStore {
    const memory = new CacheableMemory({
      checkInterval: Math.min(Math.max(ttlMs, 1000), 60_000),
      lruSize: MEMORY_MAX_ENTRIES,
      useClone: false,
      // One Map: the default 16 shards (for more than 16.7 M keys) cost a hash of the key on
      // every get and set (~4% of a cached read's CPU).
      storeHashSize: 1,
    });
    return new CacheStore(new Keyv({ store: memory }), undefined, memory);
  }

  static async redis(url: string, namespace: string | undefined): Promise<CacheStore> {
    const logger = CacheStore.logger;
    const client = createClient({
      url,
      disableOfflineQueue: true,
      commandsQueueMaxLength: MAX_QUEUED_COMMANDS,
      socket: {
        connectTimeout: CONNECT_TIMEOUT_MS,
        reconnectStrategy: (retries: number) =>
          Math.min(100 * 2 ** Math.min(retries, 10), MAX_RECONNECT_DELAY_MS) +
          Math.floor(Math.random() * 100),
      },
    }) as RedisClientType;
    let downSince: number | undefined;
    let lastLog = 0;
    // Every failure is an 'error' event; unheard, it would end the process.
    client.on('error', (err: Error) => {
      const now = Date.now();
      downSince ??= now;
      if (now - lastLog >= LOG_EVERY_MS) {
        lastLog = now;
        logger.warn(`Redis is unavailable (${err.message}); the metadata cache is bypassed`);
      }
    });
    client.on('ready', () => {
      if (downSince !== undefined) {
        logger.log(`Redis is back after ${Math.round((Date.now() - downSince) / 1000)} s`);
      }
      downSince = undefined;
      lastLog = 0;
    });
    const adapter = new KeyvRedis<unknown>(client, {
      namespace,
      throwOnErrors: true,
      throwOnConnectError: true,
    });
    // Keyv would prefix keys itself too ("keyv:"); the adapter's namespace ("<ns>::") is enough.
    const keyv = new Keyv({ store: adapter, namespace, useKeyPrefix: false, throwOnErrors: true });
    keyv.on('error', () => undefined); // failures are thrown to MetadataCache, which handles them
    const connecting = client.connect().catch(() => undefined);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      connecting,
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, CONNECT_AT_BOOT_MS);
      }),
    ]);
    clearTimeout(timer);
    if (!client.isReady) {
      logger.warn(
        `Redis is not reachable yet; starting without the metadata cache, which is used once Redis answers`,
      );
    }
    return new CacheStore(keyv, client);
  }

  /** 'redis' or 'memory', for logs. */
  get kind(): string {
    return this.redis !== undefined ? 'redis' : 'memory';
  }

  /** A round trip to Redis (PING); resolves at once for the in-memory store. */
  async ping(): Promise<void> {
    if (this.redis === undefined) return;
    await this.redis.ping();
  }

  /**
   * Drops the connection and opens a new one. For a connection that still looks open but gets
   * no answers (the peer vanished without closing it: TCP would notice only after minutes).
   */
  reconnect(): void {
    const client = this.redis;
    if (client === undefined) return;
    CacheStore.logger.warn('Redis stopped answering on its connection; reconnecting');
    if (client.isOpen) client.destroy();
    client.connect().catch(() => undefined);
  }

  async close(): Promise<void> {
    if (this.redis?.isOpen) this.redis.destroy();
    return Promise.resolve();
  }
}
