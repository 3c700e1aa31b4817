import { ApiProperty } from '@nestjs/swagger';
import { ApplyState, ApprovalKind, ApprovalStatus } from '../../database/schema';
import { Stage } from '../../mlflow/registry-types';
import { VersionDto } from '../../versions/dto/version.dto';

export class ApprovalDto {
  /** @example "3f6d1c2e-8a4b-4f0e-9d7c-1b2a3c4d5e6f" */
  id!: string;
  /** @example "churn-predictor" */
  model!: string;
  /** @example 3 */
  version!: number;
  @ApiProperty({ enum: Stage, enumName: 'Stage', example: Stage.Production })
  target_stage!: Stage;
  @ApiProperty({
    enum: ApprovalStatus,
    enumName: 'ApprovalStatus',
    example: ApprovalStatus.Pending,
  })
  status!: ApprovalStatus;
  /** Whether approving archives the current production version. @example true */
  archive_existing_versions!: boolean;
  /** Who asked for it: their `sub`. @example "alice" */
  requested_by!: string;
  /**
   * The requester's own tenant: the requester is (`requested_by_tenant`, `requested_by`), as a
   * `sub` is unique only within its tenant. It is the approval's tenant unless an admin of
   * another tenant asked (`?tenant_id=`). @example "acme-corp"
   */
  requested_by_tenant!: string;
  /** @example "2025-03-15T10:00:00.000Z" */
  requested_at!: string;
  /** The requester's comment. @example "Validated on holdout set with 0.91 F1 score" */
  comment!: string | null;
  /** Who approved, rejected or cancelled it: their `sub`. @example "bob" */
  decided_by!: string | null;
  /**
   * The decider's own tenant (null while pending): the decider is (`decided_by_tenant`,
   * `decided_by`). Four eyes compares both: an admin of another tenant whose `sub` equals the
   * requester's is another person. @example "acme-corp"
   */
  decided_by_tenant!: string | null;
  /** @example "2025-03-15T11:00:00.000Z" */
  decided_at!: string | null;
  /** @example "Holdout results reviewed" */
  decision_comment!: string | null;
  @ApiProperty({
    enum: ApplyState,
    enumName: 'ApplyState',
    example: ApplyState.None,
    description:
      'none until approved; pending while an approved transition waits for the registry backend; ' +
      'applied once the version is in production; abandoned if the version was deleted first.',
  })
  apply_state!: ApplyState;
  /** When the approved transition was applied. @example null */
  applied_at!: string | null;
  @ApiProperty({
    enum: ApprovalKind,
    enumName: 'ApprovalKind',
    example: ApprovalKind.Promotion,
    description:
      'promotion (to production), demotion (the production version to another stage, under a ' +
      'production policy) or rollback (back to a version that was in production before).',
  })
  kind!: ApprovalKind;
  /** Distinct approvers it needs (the production policy in force when it was opened). @example 2 */
  required_approvals!: number;
  @ApiProperty({
    type: [String],
    nullable: true,
    example: ['approver'],
    description:
      'A vote counts when its author holds one of these roles; null: whoever may decide (approver or admin), as without a policy.',
  })
  approver_roles!: string[] | null;
  /** The votes so far, oldest first. */
  @ApiProperty({ type: () => [ApprovalVoteDto] })
  approvals!: ApprovalVoteDto[];
  /** The latest evaluation of the policy's rules (at the request, then at every vote). */
  @ApiProperty({ type: () => [GateResultDto] })
  gates!: GateResultDto[];
  /** When a pending request expires (null: it does not). @example "2025-03-22T10:00:00.000Z" */
  expires_at!: string | null;
  /**
   * The model file's SHA-256 when the request was made: an approved production transition is
   * applied only if the stored file still has it. @example "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
   */
  artifact_sha256!: string | null;
  /**
   * The protected alias this request sets or moves (its version gets the alias; the stage does
   * not change); null for a stage request. @example null
   */
  target_alias!: string | null;
  /** Why an approved transition was not applied (apply_state failed). @example null */
  apply_error!: ApplyErrorDto | null;
}

export class ApprovalVoteDto {
  /** @example "bob" */
  by!: string;
  /** @example "acme-corp" */
  by_tenant!: string;
  /** @example "2025-03-15T11:00:00.000Z" */
  at!: string;
  /** @example "Holdout results reviewed" */
  comment!: string | null;
}

export class GateResultDto {
  /** @example "f1_score >= 0.9" */
  gate!: string;
  @ApiProperty({ enum: ['metric', 'no_regression', 'tag'], example: 'metric' })
  type!: 'metric' | 'no_regression' | 'tag';
  /** @example true */
  passed!: boolean;
  @ApiProperty({
    oneOf: [{ type: 'number' }, { type: 'string' }],
    nullable: true,
    example: 0.912,
  })
  actual!: number | string | null;
  /** @example ">= 0.9" */
  expected!: string;
  /** @example "f1_score is 0.912, >= 0.9" */
  reason!: string;
}

export class ApplyErrorDto {
  /** @example "ARTIFACT_INTEGRITY_FAILED" */
  code!: string;
  /** @example "model.pkl of version 3 has SHA-256 1c3a…, not 9f86… as when the request was made" */
  message!: string;
}

export class ApprovalEnvelopeDto {
  approval!: ApprovalDto;
}

export class ApprovalDecisionResultDto {
  approval!: ApprovalDto;
  /** The version after the decision (null while an approved transition is still pending). */
  version!: VersionDto | null;
}

export class ApprovalListDto {
  approvals!: ApprovalDto[];
  /** Pass as `page_token` for the next page; absent on the last page. @example "eyJhdCI6MTc0MjAzNjQwMDAwMCwiaWQiOiIzZjZkMWMyZS04YTRiLTRmMGUtOWQ3Yy0xYjJhM2M0ZDVlNmYifQ" */
  next_page_token?: string;
}
