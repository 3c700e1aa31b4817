import { Body, Controller, Delete, Get, HttpCode, Param, Put } from '@nestjs/common';
import { ApiNoContentResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Authenticated } from '../common/auth/authenticated.decorator';
import { Caller, CurrentCaller } from '../common/auth/caller.decorator';
import { Permission } from '../common/auth/roles';
import { ErrorCode } from '../common/errors/error-code';
import type { Frozen } from '../common/fast-path';
import { ApiErrors, ERRORS } from '../common/http/api-errors.decorator';
import { ALIASED_VERSION_EXAMPLE, VersionDto } from '../versions/dto/version.dto';
import { AliasesService } from './aliases.service';
import { AliasParams, SetAliasDto } from './dto/alias.dto';

const ALIAS_NOT_FOUND = {
  code: ErrorCode.AliasNotFound,
  when: 'the model has no such alias',
  message: "model 'churn-predictor' has no alias 'champion'",
};

const RESERVED_ALIAS = {
  code: ErrorCode.ValidationFailed,
  when: 'the alias name is invalid or reserved (`latest`, `v3`); `details.fields` names it',
  message: "alias must not be 'latest' or look like a version number (v3): MLflow reserves them",
  details: {
    fields: ["alias must not be 'latest' or look like a version number (v3): MLflow reserves them"],
  },
  key: 'reserved alias',
};

@ApiTags('aliases')
@Controller('models/:name/aliases')
export class AliasesController {
  constructor(private readonly aliases: AliasesService) {}

  @Put(':alias')
  @Authenticated(Permission.Write)
  @ApiOperation({
    summary: 'Set or move an alias (e.g. @champion) to a version',
    description:
      'The alias names one version of the model: setting it again moves it. MLflow clients ' +
      'resolve it as `models:/<mlflow name>@<alias>`. The change is in the history of each ' +
      'version it touched (`alias_set`, `alias_deleted`). Answers the version.',
  })
  @ApiOkResponse({ type: VersionDto, example: ALIASED_VERSION_EXAMPLE })
  @ApiErrors(RESERVED_ALIAS, ERRORS.versionNotFound)
  set(
    @CurrentCaller() caller: Caller,
    @Param() params: AliasParams,
    @Body() dto: SetAliasDto,
  ): Promise<VersionDto> {
    return this.aliases.set(caller, params.name, params.alias, dto.version);
  }

  @Get(':alias')
  @Authenticated(Permission.Read)
  @ApiOperation({ summary: 'The version an alias points at' })
  @ApiOkResponse({ type: VersionDto, example: ALIASED_VERSION_EXAMPLE })
  @ApiErrors(ALIAS_NOT_FOUND)
  get(@CurrentCaller() caller: Caller, @Param() params: AliasParams): Promise<Frozen<VersionDto>> {
    return this.aliases.get(caller.tenant, params.name, params.alias);
  }

  @Delete(':alias')
  @HttpCode(204)
  @Authenticated(Permission.Write)
  @ApiOperation({
    summary: 'Delete an alias',
    description: 'The version stays; the deletion is in its history (`alias_deleted`).',
  })
  @ApiNoContentResponse({ description: 'Deleted' })
  @ApiErrors(ALIAS_NOT_FOUND)
  async delete(@CurrentCaller() caller: Caller, @Param() params: AliasParams): Promise<void> {
    await this.aliases.delete(caller, params.name, params.alias);
  }
}
