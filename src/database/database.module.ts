import { Global, Module } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { Database } from './database';

@Global()
@Module({
  providers: [
    {
      provide: Database,
      inject: [AppConfig],
      useFactory: (config: AppConfig) => Database.open(config),
    },
  ],
  exports: [Database],
})
export class DatabaseModule {}
