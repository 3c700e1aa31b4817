import { CacheableMemory } from '@cacheable/memory';
import { CacheModule } from '@nestjs/cache-manager';
import { Global, Module } from '@nestjs/common';
import { Keyv } from 'keyv';
import { MetadataCache } from './metadata-cache';

@Global()
@Module({
  imports: [
    CacheModule.registerAsync({
      useFactory: () => ({
        // No LRU eviction and no default TTL: MetadataCache gives every key its own TTL, and
        // expired entries are swept every minute, so memory stays flat under steady traffic.
        stores: [new Keyv({ store: new CacheableMemory({ checkInterval: 60_000 }) })],
      }),
    }),
  ],
  providers: [MetadataCache],
  exports: [MetadataCache],
})
export class MetadataCacheModule {}
