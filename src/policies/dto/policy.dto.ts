import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIntInRange } from '../../common/validation/int-range';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayUnique,
  IsArray,
  IsBoolean,
  IsIn,
  IsNumber,
  Matches,
  Min,
  ValidateNested,
} from 'class-validator';
import { Role } from '../../common/auth/roles';
import { IsTagMap, KEY_PATTERN } from '../../common/validation/maps';
import { Optional } from '../../common/validation/optional';
import { MODEL_NAME_MESSAGE, MODEL_NAME_PATTERN } from '../../common/validation/params.dto';
import { Stage } from '../../mlflow/registry-types';
import {
  DECIDING_ROLES,
  GATE_OPS,
  type GateOp,
  MAX_REQUIRED_APPROVALS,
  MAX_TTL_SECONDS,
  type PolicyStage,
  POLICY_STAGES,
} from '../policy';

const KEY_MESSAGE = "must be 1-250 letters, digits, '_', '-', '.', '/' or spaces";
const MAX_RULES = 50;

export class MetricGateDto {
  /** @example "f1_score" */
  @Matches(KEY_PATTERN, { message: `metric ${KEY_MESSAGE}` })
  metric!: string;
  @ApiProperty({ enum: GATE_OPS, example: '>=' })
  @IsIn(GATE_OPS, { message: `op must be one of ${GATE_OPS.join(', ')}` })
  op!: GateOp;
  /** @example 0.9 */
  @IsNumber({ allowNaN: false, allowInfinity: false }, { message: 'value must be a finite number' })
  value!: number;
}

export class NoRegressionDto {
  /** @example "f1_score" */
  @Matches(KEY_PATTERN, { message: `metric ${KEY_MESSAGE}` })
  metric!: string;
  /** How much worse than production it may be, in the metric's own units. @example 0.01 */
  @IsNumber(
    { allowNaN: false, allowInfinity: false },
    { message: 'tolerance must be a finite number' },
  )
  @Min(0, { message: 'tolerance must be 0 or more' })
  tolerance!: number;
}

/**
 * A promotion policy. Every field is optional; a field that belongs to the other stage's policy
 * (required_approvals, approver_roles, request_ttl_seconds, demotion_requires_approval are
 * production's; auto_promote is staging's) is a 400, like an unknown field.
 */
export class PolicyDto {
  @ApiPropertyOptional({
    type: 'integer',
    minimum: 1,
    maximum: MAX_REQUIRED_APPROVALS,
    default: 1,
    example: 2,
    description: 'Production only: distinct approvers, never the requester.',
  })
  @Optional()
  @IsIntInRange('required_approvals', 1, MAX_REQUIRED_APPROVALS)
  required_approvals?: number;

  @ApiPropertyOptional({
    type: [String],
    enum: DECIDING_ROLES,
    default: [Role.Approver],
    example: [Role.Approver],
    description:
      'Production only: a vote counts when its author holds one of these roles (`admin` counts only if listed).',
  })
  @Optional()
  @IsArray({ message: 'approver_roles must be an array' })
  @ArrayMaxSize(DECIDING_ROLES.length)
  @ArrayUnique({ message: 'approver_roles must not repeat a role' })
  @IsIn(DECIDING_ROLES, {
    each: true,
    message: `approver_roles may hold ${DECIDING_ROLES.join(', ')} (the roles that may decide)`,
  })
  approver_roles?: Role[];

  @ApiPropertyOptional({
    type: [MetricGateDto],
    example: [{ metric: 'f1_score', op: '>=', value: 0.9 }],
  })
  @Optional()
  @IsArray({ message: 'gates must be an array' })
  @ArrayMaxSize(MAX_RULES, { message: `gates must have at most ${MAX_RULES} entries` })
  @ValidateNested({ each: true })
  @Type(() => MetricGateDto)
  gates?: MetricGateDto[];

  @ApiPropertyOptional({
    type: [NoRegressionDto],
    example: [{ metric: 'f1_score', tolerance: 0.01 }],
    description:
      'Against the version now in production (skipped when there is none); higher is better unless a loss or error metric.',
  })
  @Optional()
  @IsArray({ message: 'no_regression must be an array' })
  @ArrayMaxSize(MAX_RULES, { message: `no_regression must have at most ${MAX_RULES} entries` })
  @ValidateNested({ each: true })
  @Type(() => NoRegressionDto)
  no_regression?: NoRegressionDto[];

  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: { type: 'string' },
    example: { bias_review: 'passed' },
    description: "The version's tags must hold these values.",
  })
  @Optional()
  @IsTagMap()
  required_tags?: Record<string, string>;

  @ApiPropertyOptional({
    type: 'integer',
    minimum: 1,
    maximum: MAX_TTL_SECONDS,
    default: 604800,
    example: 604800,
    description: 'Production only: a pending request expires after this long.',
  })
  @Optional()
  @IsIntInRange('request_ttl_seconds', 1, MAX_TTL_SECONDS)
  request_ttl_seconds?: number;

  @ApiPropertyOptional({
    default: false,
    example: false,
    description:
      'Staging only: a version registered or edited so that it passes these gates moves to staging at once.',
  })
  @Optional()
  @IsBoolean({ message: 'auto_promote must be a boolean' })
  auto_promote?: boolean;

  @ApiPropertyOptional({
    default: true,
    example: true,
    description:
      'Production only: moving the version in production to another stage opens a request of kind demotion.',
  })
  @Optional()
  @IsBoolean({ message: 'demotion_requires_approval must be a boolean' })
  demotion_requires_approval?: boolean;

  @ApiPropertyOptional({
    type: [String],
    example: ['champion'],
    description:
      'Production only: setting or moving one of these aliases is an approval request with this ' +
      "policy's votes and rules. Unset: PROTECTED_ALIASES (default champion).",
  })
  @Optional()
  @IsArray({ message: 'protected_aliases must be an array' })
  @ArrayMaxSize(MAX_RULES, { message: `protected_aliases must have at most ${MAX_RULES} entries` })
  @ArrayUnique({ message: 'protected_aliases must not repeat an alias' })
  @Matches(/^[a-z][a-z0-9_-]{0,62}$/, {
    each: true,
    message: 'protected_aliases must hold alias names (^[a-z][a-z0-9_-]{0,62}$)',
  })
  protected_aliases?: string[];
}

export class PolicyStageParams {
  @ApiProperty({ enum: POLICY_STAGES, example: Stage.Production })
  @IsIn(POLICY_STAGES, { message: 'stage must be staging or production' })
  stage!: PolicyStage;
}

export class ModelPolicyParams extends PolicyStageParams {
  @ApiProperty({ example: 'churn-predictor', pattern: MODEL_NAME_PATTERN.source })
  @Matches(MODEL_NAME_PATTERN, { message: MODEL_NAME_MESSAGE })
  name!: string;
}

/** What a production policy answers (a staging policy answers its own stage's fields). */
export const PRODUCTION_POLICY_EXAMPLE = {
  stage: 'production',
  model: null,
  required_approvals: 2,
  approver_roles: ['approver'],
  gates: [{ metric: 'f1_score', op: '>=', value: 0.9 }],
  no_regression: [{ metric: 'f1_score', tolerance: 0.01 }],
  required_tags: { bias_review: 'passed' },
  request_ttl_seconds: 604800,
  demotion_requires_approval: true,
  protected_aliases: ['champion'],
  updated_at: '2025-03-15T10:00:00.000Z',
  updated_by: 'carol',
};

/**
 * A stored policy as `GET` and `PUT` answer it: the stage's fields as set, with the defaults
 * filled in (a staging policy: gates, no_regression, required_tags, auto_promote).
 */
export class StoredPolicyDto extends PolicyDto {
  @ApiProperty({ enum: POLICY_STAGES, example: Stage.Production })
  stage!: PolicyStage;
  /** The model it overrides the tenant's policy for; null for the tenant's. @example null */
  model!: string | null;
  /** @example "2025-03-15T10:00:00.000Z" */
  updated_at!: string;
  /** @example "carol" */
  updated_by!: string;
}
