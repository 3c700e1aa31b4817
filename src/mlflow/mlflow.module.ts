import { Global, Module } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { Database } from '../database/database';
import { EmbeddedMlflowRegistry } from './embedded/embedded-mlflow-registry';
import { MlflowHttpClient } from './http/mlflow-http-client';
import { MlflowHttpRegistry } from './http/mlflow-http-registry';
import { MlflowRegistry } from './mlflow-registry';

@Global()
@Module({
  providers: [
    {
      provide: MlflowRegistry,
      inject: [AppConfig, Database],
      useFactory: (config: AppConfig, database: Database): MlflowRegistry =>
        config.mlflow !== undefined
          ? new MlflowHttpRegistry(new MlflowHttpClient(config.mlflow), config.namespace)
          : new EmbeddedMlflowRegistry(database),
    },
  ],
  exports: [MlflowRegistry],
})
export class MlflowModule {}
