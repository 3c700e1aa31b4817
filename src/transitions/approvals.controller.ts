import { Body, Controller, Get, HttpCode, Param, Post, Query, Res } from '@nestjs/common';
import { ApiAcceptedResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { ApplyState } from '../database/schema';
import { Authenticated } from '../common/auth/authenticated.decorator';
import { Caller, CurrentCaller } from '../common/auth/caller.decorator';
import { Permission } from '../common/auth/roles';
import { ErrorCode } from '../common/errors/error-code';
import { ApiErrors, ErrorCase, ERRORS } from '../common/http/api-errors.decorator';
import { ApprovalsService } from './approvals.service';
import { ApprovalDecisionResultDto, ApprovalDto, ApprovalListDto } from './dto/approval.dto';
import { ApprovalParams, ListApprovalsQueryDto } from './dto/approval-queries.dto';
import { ApproveDto, CancelDto, RejectDto } from './dto/decision.dto';
import { Idempotent } from '../idempotency/idempotency.interceptor';

const FOUR_EYES: ErrorCase = {
  code: ErrorCode.FourEyesViolation,
  when: 'the requester deciding their own request (four eyes), whatever their roles',
  message: 'the requester may not approve their own request (four-eyes rule); cancel it instead',
};

@ApiTags('approvals')
@Controller('approvals')
export class ApprovalsController {
  constructor(private readonly approvals: ApprovalsService) {}

  @Get()
  @Authenticated(Permission.Read, { tenantQuery: false })
  @ApiOperation({ summary: "The tenant's approval requests, newest first" })
  @ApiOkResponse({ type: ApprovalListDto })
  list(
    @CurrentCaller() caller: Caller,
    @Query() query: ListApprovalsQueryDto,
  ): Promise<ApprovalListDto> {
    return this.approvals.list(caller.tenant, query);
  }

  @Get(':id')
  @Authenticated(Permission.Read)
  @ApiOperation({ summary: 'One approval request' })
  @ApiOkResponse({ type: ApprovalDto })
  get(@CurrentCaller() caller: Caller, @Param() params: ApprovalParams): Promise<ApprovalDto> {
    return this.approvals.get(caller.tenant, params.id);
  }

  @Post(':id/approve')
  @Idempotent()
  @HttpCode(200)
  @Authenticated(Permission.Decide)
  @ApiOperation({
    summary: 'Approve a production request and apply it',
    description:
      'Approver role; never the requester (four eyes: 403 even for an approver). The version moves to ' +
      'production and the previous production version is archived unless the request said ' +
      'archive_existing_versions: false. 409 if the request is no longer pending. 202 when the ' +
      'approval is recorded but the registry backend is unavailable: apply_state stays pending and the ' +
      'transition is applied as soon as the backend is back.',
  })
  @ApiOkResponse({ type: ApprovalDecisionResultDto })
  @ApiAcceptedResponse({
    type: ApprovalDecisionResultDto,
    description: 'Approved; transition pending',
  })
  @ApiErrors(ERRORS.approvalNotPending, FOUR_EYES)
  async approve(
    @CurrentCaller() caller: Caller,
    @Param() params: ApprovalParams,
    @Body() dto: ApproveDto,
    @Res({ passthrough: true }) res: Response,
  ): Promise<ApprovalDecisionResultDto> {
    const result = await this.approvals.approve(caller, params.id, dto.comment);
    if (result.approval.apply_state === ApplyState.Pending) res.status(202);
    return result;
  }

  @Post(':id/reject')
  @Idempotent()
  @HttpCode(200)
  @Authenticated(Permission.Decide)
  @ApiOperation({ summary: 'Reject a production request (comment required; never the requester)' })
  @ApiOkResponse({ type: ApprovalDecisionResultDto })
  @ApiErrors(ERRORS.approvalNotPending, FOUR_EYES)
  reject(
    @CurrentCaller() caller: Caller,
    @Param() params: ApprovalParams,
    @Body() dto: RejectDto,
  ): Promise<ApprovalDecisionResultDto> {
    return this.approvals.reject(caller, params.id, dto.comment);
  }

  @Post(':id/cancel')
  @Idempotent()
  @HttpCode(200)
  @Authenticated(Permission.Read)
  @ApiOperation({ summary: 'Cancel a pending request (the requester or an admin)' })
  @ApiOkResponse({ type: ApprovalDecisionResultDto })
  @ApiErrors(ERRORS.approvalNotPending, {
    code: ErrorCode.Forbidden,
    when: 'neither the requester nor an admin',
    message: 'only the requester or an admin may cancel a request',
  })
  cancel(
    @CurrentCaller() caller: Caller,
    @Param() params: ApprovalParams,
    @Body() dto: CancelDto,
  ): Promise<ApprovalDecisionResultDto> {
    return this.approvals.cancel(caller, params.id, dto.comment);
  }
}
