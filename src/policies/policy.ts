import { Role } from '../common/auth/roles';
import { Stage } from '../mlflow/registry-types';

/** The stages a policy governs. */
export type PolicyStage = Stage.Staging | Stage.Production;
export const POLICY_STAGES: readonly PolicyStage[] = [Stage.Staging, Stage.Production];

export const GATE_OPS = ['>=', '>', '<=', '<', '=='] as const;
export type GateOp = (typeof GATE_OPS)[number];

export interface MetricGate {
  metric: string;
  op: GateOp;
  value: number;
}

export interface NoRegressionRule {
  metric: string;
  /** How much worse than production the candidate may be, in the metric's own units. */
  tolerance: number;
}

/** A policy as an admin sets it (`PUT /policies/{stage}`): every field optional. */
export interface PolicyBody {
  required_approvals?: number;
  approver_roles?: Role[];
  gates?: MetricGate[];
  no_regression?: NoRegressionRule[];
  required_tags?: Record<string, string>;
  request_ttl_seconds?: number;
  auto_promote?: boolean;
  demotion_requires_approval?: boolean;
  /** Aliases whose set or move is an approval request, as production is. */
  protected_aliases?: string[];
}

/** Which fields belong to which stage's policy; a field of the other stage's is a 400. */
export const STAGE_FIELDS: Record<PolicyStage, readonly (keyof PolicyBody)[]> = {
  [Stage.Staging]: ['gates', 'no_regression', 'required_tags', 'auto_promote'],
  [Stage.Production]: [
    'required_approvals',
    'approver_roles',
    'gates',
    'no_regression',
    'required_tags',
    'request_ttl_seconds',
    'demotion_requires_approval',
    'protected_aliases',
  ],
};

/** The roles an approver role may name: those that may decide at all. */
export const DECIDING_ROLES: readonly Role[] = [Role.Approver, Role.Admin];

export const DEFAULT_TTL_SECONDS = 604_800;
export const MAX_TTL_SECONDS = 31_536_000;
export const MAX_REQUIRED_APPROVALS = 10;

/** The rules a metric-and-tag evaluation applies (what a request carries with it). */
export interface EvaluationRules {
  gates: MetricGate[];
  no_regression: NoRegressionRule[];
  required_tags: Record<string, string>;
}

/** A policy with its defaults filled in, and where it came from. */
export interface EffectivePolicy extends EvaluationRules {
  stage: PolicyStage;
  /** 'model': the model's override; 'tenant': the tenant's; 'none': no policy (today's rules). */
  source: 'model' | 'tenant' | 'none';
  required_approvals: number;
  /** Null without a policy: whoever may decide (approver or admin), as before policies. */
  approver_roles: Role[] | null;
  request_ttl_seconds: number | null;
  auto_promote: boolean;
  demotion_requires_approval: boolean;
  /** Null here means the policy does not say; PoliciesService fills in PROTECTED_ALIASES. */
  protected_aliases: string[] | null;
}

/** The policy `body` says for `stage`, defaults filled in. */
export function effectivePolicy(
  stage: PolicyStage,
  body: PolicyBody | null,
  source: 'model' | 'tenant',
): EffectivePolicy {
  if (body === null) {
    return {
      stage,
      source: 'none',
      required_approvals: 1,
      approver_roles: null,
      gates: [],
      no_regression: [],
      required_tags: {},
      request_ttl_seconds: null,
      auto_promote: false,
      demotion_requires_approval: false,
      protected_aliases: null,
    };
  }
  const production = stage === Stage.Production;
  return {
    stage,
    source,
    required_approvals: production ? (body.required_approvals ?? 1) : 1,
    approver_roles: production ? (body.approver_roles ?? [Role.Approver]) : null,
    gates: body.gates ?? [],
    no_regression: body.no_regression ?? [],
    required_tags: body.required_tags ?? {},
    request_ttl_seconds: production ? (body.request_ttl_seconds ?? DEFAULT_TTL_SECONDS) : null,
    auto_promote: !production && body.auto_promote === true,
    demotion_requires_approval: production && body.demotion_requires_approval !== false,
    protected_aliases: production ? (body.protected_aliases ?? null) : null,
  };
}

/** The evaluation part of a policy. */
export function rulesOf(policy: EvaluationRules): EvaluationRules {
  return {
    gates: policy.gates,
    no_regression: policy.no_regression,
    required_tags: policy.required_tags,
  };
}
