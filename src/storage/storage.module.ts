import { Global, Module } from '@nestjs/common';
import { join } from 'node:path';
import { AppConfig } from '../config/app-config';
import { FilesystemObjectStorage } from './filesystem-object-storage';
import { ObjectStorage } from './object-storage';

@Global()
@Module({
  providers: [
    {
      provide: ObjectStorage,
      inject: [AppConfig],
      useFactory: (config: AppConfig): ObjectStorage =>
        new FilesystemObjectStorage(join(config.dataDir, 'artifacts')),
    },
  ],
  exports: [ObjectStorage],
})
export class StorageModule {}
