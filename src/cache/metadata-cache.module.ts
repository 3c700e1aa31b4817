import { Global, Module } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { CacheStore } from './cache-store';
import { MetadataCache } from './metadata-cache';

/**
 * The metadata cache: on Redis when REDIS_URL is set (shared by every replica of a deployment;
 * keys prefixed with ML_REGISTRY_NAMESPACE when set), in process memory otherwise.
 */
@Global()
@Module({
  providers: [
    {
      provide: CacheStore,
      inject: [AppConfig],
      useFactory: (config: AppConfig): CacheStore | Promise<CacheStore> =>
        config.redisUrl !== undefined && config.cacheTtlSeconds > 0
          ? CacheStore.redis(config.redisUrl, config.namespace)
          : CacheStore.memory(config.cacheTtlSeconds * 1000),
    },
    MetadataCache,
  ],
  exports: [MetadataCache],
})
export class MetadataCacheModule {}
