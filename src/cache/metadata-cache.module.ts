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
        // No LRU eviction and no default TTL: generation keys must stay; values carry their own
        // TTL (MetadataCache sets it) and expired ones are swept every minute, so memory stays
        // flat under a steady write rate.
        stores: [new Keyv({ store: new CacheableMemory({ checkInterval: 60_000 }) })],
      }),
    }),
  ],
  providers: [MetadataCache],
  exports: [MetadataCache],
})
export class MetadataCacheModule {}
