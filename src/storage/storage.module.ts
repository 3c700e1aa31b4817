import { Global, Module } from '@nestjs/common';
import { join } from 'node:path';
import { Metrics } from '../common/metrics/metrics';
import { timedPort, type PortOperations } from '../common/metrics/timed-port';
import { AppConfig } from '../config/app-config';
import { AzureObjectStorage } from './azure/azure-object-storage';
import { FilesystemObjectStorage } from './filesystem-object-storage';
import { ObjectStorage } from './object-storage';
import { S3ObjectStorage } from './s3/s3-object-storage';

/**
 * Every call of the port, timed in registry_backend_call_duration_seconds by this name (`get`
 * until the stream is handed over, `put` until the last byte is stored: an upload's pace).
 */
const OPERATIONS: PortOperations<ObjectStorage> = {
  put: true,
  get: true,
  stat: true,
  copy: true,
  deletePrefix: true,
  deleteObjects: true,
  sweepAbandonedWrites: true,
  ping: true,
};

/**
 * The object store: S3 when MLFLOW_ARTIFACT_ROOT=s3://bucket[/prefix] (config.s3), Azure Blob
 * when it is wasbs://container@account.blob.core.windows.net[/prefix] (config.azure), else files
 * under DATA_DIR/artifacts. Building the S3 or Azure storage calls nothing: the service boots
 * with the store down and reports it in readiness.
 */
@Global()
@Module({
  providers: [
    {
      provide: ObjectStorage,
      inject: [AppConfig, Metrics],
      useFactory: (config: AppConfig, metrics: Metrics): ObjectStorage => {
        if (config.s3 !== undefined) {
          return timedPort<ObjectStorage>(
            new S3ObjectStorage(config.s3),
            metrics,
            's3',
            OPERATIONS,
          );
        }
        if (config.azure !== undefined) {
          return timedPort<ObjectStorage>(
            new AzureObjectStorage(config.azure),
            metrics,
            'azure',
            OPERATIONS,
          );
        }
        return timedPort<ObjectStorage>(
          new FilesystemObjectStorage(join(config.dataDir, 'artifacts')),
          metrics,
          'filesystem',
          OPERATIONS,
        );
      },
    },
  ],
  exports: [ObjectStorage],
})
export class StorageModule {}
