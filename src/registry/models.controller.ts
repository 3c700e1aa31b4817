import type { Frozen } from '../common/fast-path';
import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Query } from '@nestjs/common';
import {
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import { Authenticated } from '../common/auth/authenticated.decorator';
import { Caller, CurrentCaller } from '../common/auth/caller.decorator';
import { Permission } from '../common/auth/roles';
import { ErrorCode } from '../common/errors/error-code';
import { ApiErrors, ERRORS } from '../common/http/api-errors.decorator';
import { ModelParams, VersionParams } from '../common/validation/params.dto';
import { UpdateMetadataDto } from '../versions/dto/update-metadata.dto';
import { REGISTERED_VERSION_EXAMPLE, VersionDto } from '../versions/dto/version.dto';
import { ListModelsQueryDto } from './dto/list-models.query.dto';
import { MODEL_LIST_EXAMPLE, ModelDto, ModelListDto, ModelSummaryDto } from './dto/model.dto';
import { RegisterModelDto } from './dto/register-model.dto';
import { DomainEvents } from '../common/events/domain-events';
import { ModelDeletion } from './deletion/model-deletion.service';
import { ModelsService } from './models.service';
import { RegisterModelVersion } from './registration/register-model-version.usecase';
import { Idempotent } from '../idempotency/idempotency.interceptor';

@ApiTags('models')
@Controller('models')
export class ModelsController {
  constructor(
    private readonly models: ModelsService,
    private readonly registration: RegisterModelVersion,
    private readonly deletion: ModelDeletion,
    private readonly events: DomainEvents,
  ) {}

  @Post()
  @Idempotent()
  @HttpCode(201)
  @Authenticated(Permission.Write)
  @ApiOperation({
    summary: 'Register a model version from an uploaded artifact',
    description:
      'Creates the model if the name is new, then the next version (1, 2, 3, ...) in stage none. ' +
      "Metrics and parameters not given are read from the artifact's metrics.json and config.json. " +
      'A failed registration leaves nothing behind. Under a staging policy with auto_promote, a ' +
      'version that passes its rules is moved to staging at once (actor policy:staging) and ' +
      'answered in staging.',
  })
  @ApiCreatedResponse({ type: VersionDto, example: REGISTERED_VERSION_EXAMPLE })
  @ApiErrors(ERRORS.artifactNotFound, {
    code: ErrorCode.ArtifactAlreadyRegistered,
    when: 'the artifact is already registered; `details` names the version',
    message: "artifact 'model-7k2m9x4q8w1zt3vb' is already registered as churn-predictor version 3",
    details: { model: 'churn-predictor', version: 3 },
  })
  async register(
    @CurrentCaller() caller: Caller,
    @Body() dto: RegisterModelDto,
  ): Promise<VersionDto> {
    const registered = await this.registration.execute(caller, dto);
    // Rules may act on the new version (a staging policy's auto_promote); it answers as moved.
    const changed = {
      actor: caller,
      tenant: caller.tenant,
      cause: 'registered' as const,
      version: registered,
    };
    await this.events.publish('model_version.changed', changed);
    return changed.version;
  }

  @Get()
  @Authenticated(Permission.Read, { tenantQuery: false })
  @ApiOperation({
    summary: "List the tenant's models",
    description:
      'Ordered by name, or most recently updated first with `order_by=last_updated`; ' +
      "`name_like` keeps the names LIKE a pattern (MLflow's semantics: case-sensitive, `%` and " +
      '`_` wildcards). `max_results` (default 100, at most 1000) per page; `next_page_token` ' +
      'resumes right after the last model of the page, with the same `name_like` and ' +
      '`order_by` (another one is a 400).',
  })
  @ApiOkResponse({ type: ModelListDto, example: MODEL_LIST_EXAMPLE })
  list(
    @CurrentCaller() caller: Caller,
    @Query() query: ListModelsQueryDto,
  ): Promise<Frozen<ModelListDto>> {
    return this.models.list(caller.tenant, query);
  }

  @Get(':name')
  @Authenticated(Permission.Read)
  @ApiOperation({ summary: 'Get a model with all its versions' })
  @ApiOkResponse({ type: ModelDto })
  get(@CurrentCaller() caller: Caller, @Param() params: ModelParams): Promise<Frozen<ModelDto>> {
    return this.models.get(caller.tenant, params.name);
  }

  @Patch(':name')
  @Authenticated(Permission.Write)
  @ApiOperation({
    summary: "Update a model's description and tags",
    description: 'Tags are merged: a key with a null value is removed.',
  })
  @ApiOkResponse({ type: ModelSummaryDto })
  update(
    @CurrentCaller() caller: Caller,
    @Param() params: ModelParams,
    @Body() dto: UpdateMetadataDto,
  ): Promise<ModelSummaryDto> {
    return this.models.update(caller.tenant, params.name, dto);
  }

  @Delete(':name')
  @HttpCode(204)
  @Authenticated(Permission.Administer)
  @ApiOperation({
    summary: 'Delete a model, its versions and their artifacts (admin)',
    description: 'Pending approval requests are cancelled. The history of every version is kept.',
  })
  @ApiNoContentResponse({ description: 'Deleted' })
  async delete(@CurrentCaller() caller: Caller, @Param() params: ModelParams): Promise<void> {
    await this.deletion.deleteModel(caller, params.name);
  }

  @Delete(':name/versions/:version')
  @HttpCode(204)
  @Authenticated(Permission.Administer)
  @ApiOperation({
    summary: 'Delete one version and its artifact (admin)',
    description:
      'Its number is never reused. Pending approval requests are cancelled; its history is kept.',
  })
  @ApiNoContentResponse({ description: 'Deleted' })
  async deleteVersion(
    @CurrentCaller() caller: Caller,
    @Param() params: VersionParams,
  ): Promise<void> {
    await this.deletion.deleteVersion(caller, params.name, params.version);
  }
}
