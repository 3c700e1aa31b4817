import { Global, Module } from '@nestjs/common';
import { Metrics } from '../common/metrics/metrics';
import { timedPort, type PortOperations } from '../common/metrics/timed-port';
import { AppConfig } from '../config/app-config';
import { Database } from '../database/database';
import { EmbeddedMlflowRegistry } from './embedded/embedded-mlflow-registry';
import { MlflowHttpClient } from './http/mlflow-http-client';
import { MlflowHttpRegistry } from './http/mlflow-http-registry';
import { MlflowRegistry } from './mlflow-registry';

/** Every call of the port, timed in registry_backend_call_duration_seconds by this name. */
export const REGISTRY_OPERATIONS: PortOperations<MlflowRegistry> = {
  createRegisteredModel: true,
  getRegisteredModel: true,
  getModelVersionWithModel: true,
  searchRegisteredModels: true,
  updateRegisteredModel: true,
  setRegisteredModelTag: true,
  deleteRegisteredModelTag: true,
  deleteRegisteredModel: true,
  createModelVersion: true,
  getModelVersion: true,
  searchModelVersions: true,
  updateModelVersion: true,
  setModelVersionTag: true,
  deleteModelVersionTag: true,
  transitionModelVersionStage: true,
  deleteModelVersion: true,
  setRegisteredModelAlias: true,
  deleteRegisteredModelAlias: true,
  getModelVersionByAlias: true,
  createRun: true,
  getRun: true,
  deleteRun: true,
  ping: true,
};

@Global()
@Module({
  providers: [
    {
      provide: MlflowRegistry,
      inject: [AppConfig, Database, Metrics],
      useFactory: (config: AppConfig, database: Database, metrics: Metrics): MlflowRegistry =>
        config.mlflow !== undefined
          ? timedPort<MlflowRegistry>(
              new MlflowHttpRegistry(new MlflowHttpClient(config.mlflow), config.namespace),
              metrics,
              'mlflow',
              REGISTRY_OPERATIONS,
            )
          : timedPort<MlflowRegistry>(
              new EmbeddedMlflowRegistry(database),
              metrics,
              'embedded-registry',
              REGISTRY_OPERATIONS,
            ),
    },
  ],
  exports: [MlflowRegistry],
})
export class MlflowModule {}
