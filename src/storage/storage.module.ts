import { Global, Module } from '@nestjs/common';
import { join } from 'node:path';
import { AppConfig } from '../config/app-config';
import { FilesystemObjectStorage } from './filesystem-object-storage';
import { ObjectStorage } from './object-storage';
import { S3ObjectStorage } from './s3/s3-object-storage';

/**
 * The object store: S3 when MLFLOW_ARTIFACT_ROOT=s3://bucket[/prefix] (config.s3), else files
 * under DATA_DIR/artifacts. Building the S3 storage calls nothing: the service boots with the
 * store down and reports it in readiness.
 */
@Global()
@Module({
  providers: [
    {
      provide: ObjectStorage,
      inject: [AppConfig],
      useFactory: (config: AppConfig): ObjectStorage =>
        config.s3 !== undefined
          ? new S3ObjectStorage(config.s3)
          : new FilesystemObjectStorage(join(config.dataDir, 'artifacts')),
    },
  ],
  exports: [ObjectStorage],
})
export class StorageModule {}
