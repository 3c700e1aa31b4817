import { Module } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module';
import { VersionsModule } from '../versions/versions.module';
import { TransitionsModule } from '../transitions/transitions.module';
import { AliasesController } from './aliases.controller';
import { AliasesService } from './aliases.service';

/**
 * Aliases of a model's versions (`PUT/GET/DELETE /models/:name/aliases/:alias`). Their own
 * module, beside versions: a change of an alias is a governed write (protected aliases go
 * through the approval guard), while versions/ only reads and edits metadata.
 */
@Module({
  imports: [VersionsModule, AuditModule, TransitionsModule],
  controllers: [AliasesController],
  providers: [AliasesService],
  exports: [AliasesService],
})
export class AliasesModule {}
