import type { Frozen } from '../common/fast-path';
import { Body, Controller, Get, Param, Patch, Query } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Authenticated } from '../common/auth/authenticated.decorator';
import { Caller, CurrentCaller } from '../common/auth/caller.decorator';
import { Permission } from '../common/auth/roles';
import { ModelParams, VersionParams } from '../common/validation/params.dto';
import { ListVersionsQueryDto } from './dto/list-versions.query.dto';
import { UpdateMetadataDto } from './dto/update-metadata.dto';
import { VersionDto, VersionListDto } from './dto/version.dto';
import { VersionsService } from './versions.service';
import { DomainEvents } from '../common/events/domain-events';

@ApiTags('versions')
@Controller('models/:name/versions')
export class VersionsController {
  constructor(
    private readonly versions: VersionsService,
    private readonly events: DomainEvents,
  ) {}

  @Get()
  @Authenticated(Permission.Read, { tenantQuery: false })
  @ApiOperation({ summary: "A model's versions, oldest first (optionally one stage)" })
  @ApiOkResponse({ type: VersionListDto })
  async list(
    @CurrentCaller() caller: Caller,
    @Param() params: ModelParams,
    @Query() query: ListVersionsQueryDto,
  ): Promise<Frozen<VersionListDto>> {
    return { versions: await this.versions.list(caller.tenant, params.name, query.stage) };
  }

  @Get(':version')
  @Authenticated(Permission.Read)
  @ApiOperation({ summary: 'Get a model version: stage, artifact, metrics, parameters, tags' })
  @ApiOkResponse({ type: VersionDto })
  get(@CurrentCaller() caller: Caller, @Param() params: VersionParams): Promise<VersionDto> {
    return this.versions.get(caller.tenant, params.name, params.version);
  }

  @Patch(':version')
  @Authenticated(Permission.Write)
  @ApiOperation({
    summary: "Update a version's description and tags",
    description:
      'Tags are merged: a key with a null value is removed. Stage changes go through POST .../stage.',
  })
  @ApiOkResponse({ type: VersionDto })
  async update(
    @CurrentCaller() caller: Caller,
    @Param() params: VersionParams,
    @Body() dto: UpdateMetadataDto,
  ): Promise<VersionDto> {
    const updated = await this.versions.update(caller.tenant, params.name, params.version, dto);
    // Rules may act on the edited version (a staging policy's auto_promote).
    const changed = {
      actor: caller,
      tenant: caller.tenant,
      cause: 'updated' as const,
      version: updated,
    };
    await this.events.publish('model_version.changed', changed);
    return changed.version;
  }
}
