import { Body, Controller, Get, HttpCode, Param, Post, Res } from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiExtraModels,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
  getSchemaPath,
} from '@nestjs/swagger';
import type { Response } from 'express';
import { Authenticated } from '../common/auth/authenticated.decorator';
import { Caller, CurrentCaller } from '../common/auth/caller.decorator';
import { Permission } from '../common/auth/roles';
import { ErrorCode } from '../common/errors/error-code';
import { ApiErrors } from '../common/http/api-errors.decorator';
import { VersionParams } from '../common/validation/params.dto';
import { Stage } from '../mlflow/registry-types';
import { VersionDto } from '../versions/dto/version.dto';
import { API_PREFIX } from '../common/http/api-prefix';
import { ApprovalRequired, RequiresApproval } from './approval.guard';
import { ApprovalsService } from './approvals.service';
import { ApprovalDto, ApprovalEnvelopeDto } from './dto/approval.dto';
import { GATES_FAILED_EXAMPLE } from './approvals.controller';
import { TransitionHistoryDto } from './dto/transition-entry.dto';
import { TransitionRequestDto } from './dto/transition-request.dto';
import { TransitionsService } from './transitions.service';
import { Idempotent } from '../idempotency/idempotency.interceptor';

@ApiTags('transitions')
@ApiExtraModels(VersionDto, ApprovalEnvelopeDto)
@Controller('models/:name/versions/:version')
export class TransitionsController {
  constructor(
    private readonly transitions: TransitionsService,
    private readonly approvals: ApprovalsService,
  ) {}

  @Post('stage')
  @Idempotent()
  @HttpCode(200)
  @Authenticated(Permission.Write)
  @RequiresApproval(Stage.Production)
  @ApiOperation({
    summary: 'Transition a version to another stage',
    description:
      `none, staging and archived apply at once (200, the version). production opens an approval ` +
      `request instead (202, Location: /${API_PREFIX}/approvals/{id}), decided by approvers. ` +
      `Under a production policy (see /policies), moving the version in production elsewhere ` +
      `opens a request of kind demotion (202) unless the policy says demotion_requires_approval: ` +
      `false. A move to staging or a production request whose policy rules fail is 422 ` +
      `GATES_FAILED with each rule's verdict. Asking for the current stage is 409; so is a ` +
      `second pending request for the same version.`,
  })
  @ApiOkResponse({ description: 'Applied', type: VersionDto })
  @ApiAcceptedResponse({
    description: 'Production: approval request opened',
    schema: { $ref: getSchemaPath(ApprovalEnvelopeDto) },
    headers: { Location: { description: 'The approval request', schema: { type: 'string' } } },
  })
  @ApiErrors(
    {
      code: ErrorCode.StageUnchanged,
      when: 'the version is already in that stage',
      message: "version 3 of 'churn-predictor' is already in staging",
      details: { stage: 'staging' },
    },
    {
      code: ErrorCode.ApprovalAlreadyPending,
      when: 'a production request for this version is pending already; `details` names it',
      message:
        "version 3 of 'churn-predictor' already has a pending approval request: 3f6d1c2e-8a4b-4f0e-9d7c-1b2a3c4d5e6f",
      details: { approval_id: '3f6d1c2e-8a4b-4f0e-9d7c-1b2a3c4d5e6f' },
    },
    GATES_FAILED_EXAMPLE,
  )
  async transition(
    @CurrentCaller() caller: Caller,
    @Param() params: VersionParams,
    @Body() dto: TransitionRequestDto,
    @ApprovalRequired() approvalRequired: boolean,
    @Res({ passthrough: true }) res: Response,
  ): Promise<VersionDto | ApprovalEnvelopeDto> {
    const accepted = (approval: ApprovalDto): ApprovalEnvelopeDto => {
      res.status(202).location(`/${API_PREFIX}/approvals/${approval.id}`);
      return { approval };
    };
    if (approvalRequired) {
      return accepted(await this.approvals.request(caller, params.name, params.version, dto));
    }
    const moved = await this.transitions.transition(caller, params.name, params.version, dto);
    if ('demotion' in moved) {
      return accepted(
        await this.approvals.requestDemotion(
          caller,
          params.name,
          params.version,
          dto,
          moved.demotion,
        ),
      );
    }
    return moved;
  }

  @Get('transitions')
  @Authenticated(Permission.Read)
  @ApiOperation({
    summary: 'The stage history of a version, oldest first',
    description:
      'Every applied transition (from, to, time, comment) and every approval request and decision, ' +
      'each naming its actor; an approved transition names both the requester and the approver.',
  })
  @ApiOkResponse({ type: TransitionHistoryDto })
  async history(
    @CurrentCaller() caller: Caller,
    @Param() params: VersionParams,
  ): Promise<TransitionHistoryDto> {
    return {
      transitions: await this.transitions.historyOf(caller.tenant, params.name, params.version),
    };
  }
}
