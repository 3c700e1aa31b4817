import { CacheableMemory } from '@cacheable/memory';
import { CacheModule } from '@nestjs/cache-manager';
import { Global, Module } from '@nestjs/common';
import { Keyv } from 'keyv';
import { AppConfig } from '../config/app-config';
import { MetadataCache } from './metadata-cache';

@Global()
@Module({
  imports: [
    CacheModule.registerAsync({
      inject: [AppConfig],
      useFactory: (config: AppConfig) => ({
        // No LRU eviction (generation keys must not be evicted); expired values are swept
        // every minute so memory stays flat under a steady write rate.
        stores: [new Keyv({ store: new CacheableMemory({ checkInterval: 60_000 }) })],
        ttl: Math.max(config.cacheTtlSeconds, 1) * 1000,
      }),
    }),
  ],
  providers: [MetadataCache],
  exports: [MetadataCache],
})
export class MetadataCacheModule {}
