import { Global, Module } from '@nestjs/common';
import { EmbeddedMlflowRegistry } from './embedded/embedded-mlflow-registry';
import { MlflowRegistry } from './mlflow-registry';

@Global()
@Module({
  providers: [{ provide: MlflowRegistry, useClass: EmbeddedMlflowRegistry }],
  exports: [MlflowRegistry],
})
export class MlflowModule {}
