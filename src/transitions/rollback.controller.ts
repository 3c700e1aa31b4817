import { Body, Controller, HttpCode, Param, Post, Res } from '@nestjs/common';
import { ApiAcceptedResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { Authenticated } from '../common/auth/authenticated.decorator';
import { Caller, CurrentCaller } from '../common/auth/caller.decorator';
import { Permission } from '../common/auth/roles';
import { ErrorCode } from '../common/errors/error-code';
import { ApiErrors, ERRORS } from '../common/http/api-errors.decorator';
import { API_PREFIX } from '../common/http/api-prefix';
import { ModelParams } from '../common/validation/params.dto';
import { Idempotent } from '../idempotency/idempotency.interceptor';
import { GATES_FAILED_EXAMPLE } from './approvals.controller';
import { ApprovalsService } from './approvals.service';
import { ApprovalEnvelopeDto } from './dto/approval.dto';
import { RollbackDto } from './dto/rollback.dto';

@ApiTags('transitions')
@Controller('models/:name')
export class RollbackController {
  constructor(private readonly approvals: ApprovalsService) {}

  @Post('rollback')
  @Idempotent()
  @HttpCode(202)
  @Authenticated(Permission.Write)
  @ApiOperation({
    summary: 'Ask to go back to a version that was in production before',
    description:
      'Opens a production request of kind rollback (202, Location: the approval request), decided ' +
      'like any production request: the production policy’s votes, approver roles, gates, required ' +
      'tags and expiry, but not no_regression (it goes back on purpose). 409 ' +
      'NOT_A_PREVIOUS_PRODUCTION for a version that never was in production.',
  })
  @ApiAcceptedResponse({
    type: ApprovalEnvelopeDto,
    description: 'Rollback request opened',
    headers: { Location: { description: 'The approval request', schema: { type: 'string' } } },
  })
  @ApiErrors(
    ERRORS.modelNotFound,
    ERRORS.versionNotFound,
    {
      code: ErrorCode.NotAPreviousProduction,
      when: 'to_version was never in production',
      message:
        "version 1 of 'churn-predictor' was never in production: a rollback goes back to a version that was",
      details: { version: 1 },
    },
    {
      code: ErrorCode.StageUnchanged,
      when: 'to_version is in production now',
      message: "version 2 of 'churn-predictor' is already in production",
      details: { stage: 'production' },
    },
    {
      code: ErrorCode.ApprovalAlreadyPending,
      when: 'to_version has a pending request already; `details` names it',
      message:
        "version 2 of 'churn-predictor' already has a pending approval request: 3f6d1c2e-8a4b-4f0e-9d7c-1b2a3c4d5e6f",
      details: { approval_id: '3f6d1c2e-8a4b-4f0e-9d7c-1b2a3c4d5e6f' },
    },
    GATES_FAILED_EXAMPLE,
  )
  async rollback(
    @CurrentCaller() caller: Caller,
    @Param() params: ModelParams,
    @Body() dto: RollbackDto,
    @Res({ passthrough: true }) res: Response,
  ): Promise<ApprovalEnvelopeDto> {
    const approval = await this.approvals.rollback(caller, params.name, dto);
    res.location(`/${API_PREFIX}/approvals/${approval.id}`);
    return { approval };
  }
}
