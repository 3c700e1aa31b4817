import { Body, Controller, Delete, Get, HttpCode, Param, Put, Res } from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import { Authenticated } from '../common/auth/authenticated.decorator';
import { Caller, CurrentCaller } from '../common/auth/caller.decorator';
import { Permission } from '../common/auth/roles';
import { ErrorCode } from '../common/errors/error-code';
import type { Frozen } from '../common/fast-path';
import { ApiErrors, ERRORS } from '../common/http/api-errors.decorator';
import { ALIASED_VERSION_EXAMPLE, VersionDto } from '../versions/dto/version.dto';
import { AliasesService } from './aliases.service';
import { AliasParams, SetAliasDto } from './dto/alias.dto';
import { PromotionRules } from '../policies/promotion-rules';
import { ApprovalsService } from '../transitions/approvals.service';
import { ApprovalEnvelopeDto } from '../transitions/dto/approval.dto';
import { GATES_FAILED_EXAMPLE } from '../transitions/approvals.controller';
import { API_PREFIX } from '../common/http/api-prefix';
import type { Response } from 'express';

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
  constructor(
    private readonly aliases: AliasesService,
    private readonly rules: PromotionRules,
    private readonly approvals: ApprovalsService,
  ) {}

  @Put(':alias')
  @Authenticated(Permission.Write)
  @ApiOperation({
    summary: 'Set or move an alias (e.g. @champion) to a version',
    description:
      'The alias names one version of the model: setting it again moves it. MLflow clients ' +
      'resolve it as `models:/<mlflow name>@<alias>`. The change is in the history of each ' +
      'version it touched (`alias_set`, `alias_deleted`). Answers the version. A protected alias ' +
      "(the production policy's protected_aliases, else PROTECTED_ALIASES, default champion) is " +
      'not set at once: 202 with an approval request (`target_alias`), decided like a ' +
      'production request (four eyes, votes, gates), that sets it once approved.',
  })
  @ApiOkResponse({ type: VersionDto, example: ALIASED_VERSION_EXAMPLE })
  @ApiAcceptedResponse({
    type: ApprovalEnvelopeDto,
    description: 'A protected alias: approval request opened',
    headers: { Location: { description: 'The approval request', schema: { type: 'string' } } },
  })
  @ApiErrors(RESERVED_ALIAS, ERRORS.versionNotFound, GATES_FAILED_EXAMPLE, {
    code: ErrorCode.ApprovalAlreadyPending,
    when: 'a request for this alias on this version is pending already; `details` names it',
    message:
      "version 3 of 'churn-predictor' already has a pending approval request: 3f6d1c2e-8a4b-4f0e-9d7c-1b2a3c4d5e6f",
    details: { approval_id: '3f6d1c2e-8a4b-4f0e-9d7c-1b2a3c4d5e6f' },
  })
  async set(
    @CurrentCaller() caller: Caller,
    @Param() params: AliasParams,
    @Body() dto: SetAliasDto,
    @Res({ passthrough: true }) res: Response,
  ): Promise<VersionDto | ApprovalEnvelopeDto> {
    const { name, alias } = params;
    if (!(await this.rules.protects(caller.tenant, name, alias))) {
      return this.aliases.set(caller, name, alias, dto.version);
    }
    // Protected: already there is a no-op (200); otherwise an approval request, as production.
    if ((await this.aliases.current(caller.tenant, name, alias, dto.version)) === dto.version) {
      return this.aliases.set(caller, name, alias, dto.version);
    }
    const approval = await this.approvals.requestAlias(
      caller,
      name,
      dto.version,
      alias,
      dto.comment ?? null,
    );
    res.status(202).location(`/${API_PREFIX}/approvals/${approval.id}`);
    return { approval };
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
