import { Injectable } from '@nestjs/common';
import type { Role } from '../common/auth/roles';
import { ErrorCode } from '../common/errors/error-code';
import { RegistryError } from '../common/errors/registry-error';
import { ApprovalKind } from '../database/schema';
import { ModelVersionRecord, Stage } from '../mlflow/registry-types';
import type { VersionDto } from '../versions/dto/version.dto';
import { VersionsService } from '../versions/versions.service';
import { allPassed, evaluate, Evidence, GateResult } from './gates';
import { PoliciesService } from './policies.service';
import { EffectivePolicy, EvaluationRules, rulesOf } from './policy';

/** What a direct (non-production) transition needs. */
export type DirectDecision =
  | { action: 'apply'; gates: GateResult[] }
  | { action: 'approval'; kind: ApprovalKind.Demotion; terms: RequestTerms };

/** What a request is opened under: the production policy in force, snapshotted. */
export interface RequestTerms {
  kind: ApprovalKind;
  required_approvals: number;
  /** Null: whoever may decide (approver or admin), the policy-less rule. */
  approver_roles: Role[] | null;
  /** The rules every vote re-evaluates (empty for a demotion: the version leaves production). */
  rules: EvaluationRules;
  skip_no_regression: boolean;
  /** Epoch ms; null without a policy (requests then wait as long as it takes). */
  expires_at: number | null;
  /** The evaluation at request time. */
  gates: GateResult[];
}

const NO_RULES: EvaluationRules = { gates: [], no_regression: [], required_tags: {} };

export function gatesFailed(
  version: { name: string; version: number },
  stage: Stage,
  gates: GateResult[],
): RegistryError {
  const failed = gates.filter((g) => !g.passed);
  return new RegistryError(
    ErrorCode.GatesFailed,
    `version ${version.version} of '${version.name}' does not meet the ${stage} policy: ` +
      failed.map((g) => g.reason).join('; '),
    { gates },
  );
}

/**
 * The version a request is about, as the move read it. What the rules look at (its metrics,
 * from its run) is read only when a rule of the policy in force asks for it, and once: a request
 * under no policy costs no more round trips than the move it stands for.
 */
export class Candidate {
  private full?: Promise<VersionDto>;

  constructor(
    readonly record: ModelVersionRecord,
    private readonly read: (record: ModelVersionRecord) => Promise<VersionDto>,
  ) {}

  get name(): string {
    return this.record.name;
  }

  get version(): number {
    return this.record.version;
  }

  dto(): Promise<VersionDto> {
    return (this.full ??= this.read(this.record));
  }
}

/** Whether a set of rules has nothing to check. */
export function noRules(rules: EvaluationRules, skipNoRegression: boolean): boolean {
  return (
    rules.gates.length === 0 &&
    (skipNoRegression || rules.no_regression.length === 0) &&
    Object.keys(rules.required_tags).length === 0
  );
}

function evidenceOf(v: VersionDto): Evidence {
  return { version: v.version, metrics: v.metrics, tags: v.tags };
}

/**
 * The one rule engine: what a transition needs (apply now, an approval request, or refused with
 * the reasons), decided from the promotion policy in force. The approval guard and the services
 * ask it; no rule is written anywhere else.
 */
@Injectable()
export class PromotionRules {
  constructor(
    private readonly policies: PoliciesService,
    private readonly versions: VersionsService,
  ) {}

  /** The production policy in force for a model. */
  production(tenant: string, model: string): Promise<EffectivePolicy> {
    return this.policies.effective(tenant, model, Stage.Production);
  }

  /**
   * A move to none, staging or archived. The version in production leaving it under a
   * production policy that governs demotion becomes a request; a move to staging must pass the
   * staging policy's rules (422 GATES_FAILED otherwise).
   */
  async direct(tenant: string, current: VersionDto, target: Stage): Promise<DirectDecision> {
    if (current.stage === Stage.Production && target !== Stage.Production) {
      const production = await this.production(tenant, current.name);
      if (production.demotion_requires_approval) {
        return {
          action: 'approval',
          kind: ApprovalKind.Demotion,
          terms: this.terms(ApprovalKind.Demotion, production, NO_RULES, false, []),
        };
      }
    }
    if (target !== Stage.Staging) return { action: 'apply', gates: [] };
    const staging = await this.policies.effective(tenant, current.name, Stage.Staging);
    const gates = await this.evaluateRules(tenant, current, rulesOf(staging), false);
    if (!allPassed(gates)) throw gatesFailed(current, Stage.Staging, gates);
    return { action: 'apply', gates };
  }

  /**
   * A request to production (a promotion or a rollback): evaluated now, 422 GATES_FAILED when a
   * rule fails; otherwise the terms it is opened under.
   */
  async request(
    tenant: string,
    candidate: Candidate,
    kind: ApprovalKind.Promotion | ApprovalKind.Rollback,
  ): Promise<RequestTerms> {
    const production = await this.production(tenant, candidate.name);
    const skip = kind === ApprovalKind.Rollback;
    const rules = rulesOf(production);
    const gates = await this.evaluateRules(tenant, candidate, rules, skip);
    if (!allPassed(gates)) throw gatesFailed(candidate, Stage.Production, gates);
    return this.terms(kind, production, rules, skip, gates);
  }

  /** Whether setting or moving `alias` on the model needs an approval. */
  async protects(tenant: string, model: string, alias: string): Promise<boolean> {
    return ((await this.production(tenant, model)).protected_aliases ?? []).includes(alias);
  }

  /** The terms of a request for a protected alias: a production request's (422 on a failing rule). */
  async aliasTerms(
    tenant: string,
    candidate: Candidate | VersionDto,
    production?: EffectivePolicy,
  ): Promise<RequestTerms> {
    production ??= await this.production(tenant, candidate.name);
    const rules = rulesOf(production);
    const gates = await this.evaluateRules(tenant, candidate, rules, false);
    if (!allPassed(gates)) throw gatesFailed(candidate, Stage.Production, gates);
    return this.terms(ApprovalKind.Promotion, production, rules, false, gates);
  }

  /** A vote re-evaluates the request's own rules against the registry as it is now. */
  async atVote(
    tenant: string,
    candidate: VersionDto,
    rules: EvaluationRules,
    skipNoRegression: boolean,
  ): Promise<GateResult[]> {
    return this.evaluateRules(tenant, candidate, rules, skipNoRegression);
  }

  /**
   * Whether a version in stage none moves to staging by itself: the staging policy says
   * auto_promote and every one of its rules passes.
   */
  async autoPromotes(tenant: string, version: VersionDto): Promise<GateResult[] | null> {
    if (version.stage !== Stage.None) return null;
    const staging = await this.policies.effective(tenant, version.name, Stage.Staging);
    if (!staging.auto_promote) return null;
    const gates = await this.evaluateRules(tenant, version, rulesOf(staging), false);
    return allPassed(gates) ? gates : null;
  }

  private terms(
    kind: ApprovalKind,
    policy: EffectivePolicy,
    rules: EvaluationRules,
    skip: boolean,
    gates: GateResult[],
  ): RequestTerms {
    return {
      kind,
      required_approvals: policy.required_approvals,
      approver_roles: policy.approver_roles,
      rules,
      skip_no_regression: skip,
      expires_at:
        policy.request_ttl_seconds === null ? null : Date.now() + policy.request_ttl_seconds * 1000,
      gates,
    };
  }

  private async evaluateRules(
    tenant: string,
    version: Candidate | VersionDto,
    rules: EvaluationRules,
    skipNoRegression: boolean,
  ): Promise<GateResult[]> {
    if (noRules(rules, skipNoRegression)) return [];
    const candidate = version instanceof Candidate ? await version.dto() : version;
    const needsProduction = !skipNoRegression && rules.no_regression.length > 0;
    const production = needsProduction
      ? await this.productionVersion(tenant, candidate.name)
      : null;
    return evaluate(rules, evidenceOf(candidate), production, { skipNoRegression });
  }

  private async productionVersion(tenant: string, model: string): Promise<Evidence | null> {
    const inProduction = await this.versions.list(tenant, model, Stage.Production);
    const newest = [...inProduction].sort((a, b) => b.version - a.version)[0];
    return newest === undefined ? null : evidenceOf(newest);
  }
}
