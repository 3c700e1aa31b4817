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

const ALREADY_APPROVED: ErrorCase = {
  code: ErrorCode.AlreadyApproved,
  when: 'the caller has voted for this request already (a quorum needs distinct approvers)',
  message:
    "you have already approved request '3f6d1c2e-8a4b-4f0e-9d7c-1b2a3c4d5e6f': a quorum needs distinct approvers",
};

export const GATES_FAILED_EXAMPLE: ErrorCase = {
  code: ErrorCode.GatesFailed,
  when: "a rule of the policy fails (metric gate, no regression against production, required tag); `details.gates` lists each rule's verdict",
  message:
    "version 3 of 'churn-predictor' does not meet the production policy: f1_score is 0.85, needs >= 0.9",
  details: {
    gates: [
      {
        gate: 'f1_score >= 0.9',
        type: 'metric',
        passed: false,
        actual: 0.85,
        expected: '>= 0.9',
        reason: 'f1_score is 0.85, needs >= 0.9',
      },
    ],
  },
};

const NOT_AN_APPROVER_ROLE: ErrorCase = {
  code: ErrorCode.Forbidden,
  key: 'APPROVER_ROLES',
  when: "the caller holds none of the request's approver_roles (its production policy's)",
  message:
    "this request needs a vote from one of the roles admin (its production policy's approver_roles)",
  details: { approver_roles: ['admin'] },
};

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
    return this.approvals.list(caller, query);
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
    summary: 'Vote for a request; the last vote of the quorum approves and applies it',
    description:
      'A role of the request’s approver_roles (without a policy: approver or admin); never the ' +
      'requester (four eyes: 403 even for an approver). Each approve is one vote; when the votes ' +
      'reach required_approvals the request is approved and applied: the version moves to ' +
      'production (or, for a demotion, to its target) and the previous production version is ' +
      'archived unless the request said archive_existing_versions: false. Before a production ' +
      'transition is applied the stored model file is re-read and its SHA-256 compared with ' +
      'artifact_sha256: a mismatch leaves it unapplied (apply_state failed, ' +
      'ARTIFACT_INTEGRITY_FAILED). The policy’s rules are evaluated again first: a failure is 422 ' +
      'and the request stays pending. 409 if the request is no longer pending or the caller voted ' +
      'already. 202 when the approval is recorded but the registry backend is unavailable: ' +
      'apply_state stays pending and the transition is applied as soon as the backend is back.',
  })
  @ApiOkResponse({ type: ApprovalDecisionResultDto })
  @ApiAcceptedResponse({
    type: ApprovalDecisionResultDto,
    description: 'Approved; transition pending',
  })
  @ApiErrors(
    ERRORS.approvalNotPending,
    FOUR_EYES,
    NOT_AN_APPROVER_ROLE,
    ALREADY_APPROVED,
    GATES_FAILED_EXAMPLE,
  )
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
  @ApiOperation({
    summary: 'Reject a request (comment required; never the requester)',
    description: 'One reject by an eligible approver (a role of approver_roles) ends the request.',
  })
  @ApiOkResponse({ type: ApprovalDecisionResultDto })
  @ApiErrors(ERRORS.approvalNotPending, FOUR_EYES, NOT_AN_APPROVER_ROLE)
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
