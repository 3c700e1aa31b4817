import { Injectable } from '@nestjs/common';
import { HistoryEntry, HistoryRepository } from '../audit/history.repository';
import type { Caller } from '../common/auth/caller.decorator';
import { ErrorCode } from '../common/errors/error-code';
import { RegistryError } from '../common/errors/registry-error';
import { iso } from '../common/time';
import { Database, Db } from '../database/database';
import { HistoryEvent } from '../database/schema';
import { VersionsService } from '../versions/versions.service';
import { AppConfig } from '../config/app-config';
import { EventOutbox, policyEvent } from '../events';
import type { PolicyDto, StoredPolicyDto } from './dto/policy.dto';
import { PoliciesRepository, PolicyRow, TENANT_SCOPE } from './policies.repository';
import {
  EffectivePolicy,
  effectivePolicy,
  PolicyBody,
  POLICY_STAGES,
  PolicyStage,
  STAGE_FIELDS,
} from './policy';

/** The fields a PUT body may hold, in the order they are stored and shown. */
const ALL_FIELDS = [
  'required_approvals',
  'approver_roles',
  'gates',
  'no_regression',
  'required_tags',
  'request_ttl_seconds',
  'auto_promote',
  'demotion_requires_approval',
  'protected_aliases',
] as const satisfies readonly (keyof PolicyBody)[];

function otherStage(stage: PolicyStage): PolicyStage {
  return POLICY_STAGES.find((s) => s !== stage)!;
}

/** The body as stored: the fields that were given, plain data (no DTO class instances). */
function bodyOf(stage: PolicyStage, dto: PolicyDto): PolicyBody {
  const misplaced = ALL_FIELDS.filter(
    (f) => dto[f] !== undefined && !STAGE_FIELDS[stage].includes(f),
  );
  if (misplaced.length > 0) {
    const messages = misplaced.map(
      (f) => `${f} belongs to the ${otherStage(stage)} policy, not to the ${stage} policy`,
    );
    throw RegistryError.validation(messages.join('; '), { fields: messages });
  }
  const body: PolicyBody = {};
  for (const f of ALL_FIELDS) {
    if (dto[f] !== undefined) (body as Record<string, unknown>)[f] = dto[f];
  }
  if (body.gates) body.gates = body.gates.map(({ metric, op, value }) => ({ metric, op, value }));
  if (body.no_regression) {
    body.no_regression = body.no_regression.map(({ metric, tolerance }) => ({ metric, tolerance }));
  }
  if (body.required_tags) body.required_tags = { ...body.required_tags };
  if (body.protected_aliases) body.protected_aliases = [...body.protected_aliases];
  return body;
}

function policyNotFound(stage: PolicyStage, model: string | null): RegistryError {
  return new RegistryError(
    ErrorCode.PolicyNotFound,
    model === null
      ? `the tenant has no ${stage} policy (without one, a transition needs what it did before policies)`
      : `model '${model}' has no ${stage} policy of its own (the tenant's applies)`,
  );
}

/**
 * Promotion policies as data: the tenant's per stage, and a model's override, which replaces
 * the tenant's for that model, whole. Every change is a history entry of the tenant (the audit
 * chain covers policy changes).
 */
@Injectable()
export class PoliciesService {
  constructor(
    private readonly repository: PoliciesRepository,
    private readonly database: Database,
    private readonly history: HistoryRepository,
    private readonly versions: VersionsService,
    private readonly config: AppConfig,
  ) {}

  /** The aliases a production policy protects: its own list, else PROTECTED_ALIASES. */
  private withAliases(policy: EffectivePolicy): EffectivePolicy {
    return {
      ...policy,
      protected_aliases: policy.protected_aliases ?? this.config.protectedAliases,
    };
  }

  /** The policy in force for a model's move to `stage`: its override, else the tenant's. */
  async effective(
    tenant: string,
    model: string,
    stage: PolicyStage,
    db?: Db,
  ): Promise<EffectivePolicy> {
    const rows = await this.repository.forModel(tenant, model, stage, db);
    if (rows.model) return this.withAliases(effectivePolicy(stage, parse(rows.model), 'model'));
    if (rows.tenant) return this.withAliases(effectivePolicy(stage, parse(rows.tenant), 'tenant'));
    return this.withAliases(effectivePolicy(stage, null, 'tenant'));
  }

  async get(tenant: string, model: string | null, stage: PolicyStage): Promise<StoredPolicyDto> {
    if (model !== null) await this.versions.getModelUid(tenant, model); // 404 for a missing model
    const row = await this.repository.find(tenant, model ?? TENANT_SCOPE, stage);
    if (!row) throw policyNotFound(stage, model);
    return this.present(row);
  }

  async put(
    caller: Caller,
    model: string | null,
    stage: PolicyStage,
    dto: PolicyDto,
  ): Promise<StoredPolicyDto> {
    const body = bodyOf(stage, dto);
    const uid = model === null ? '' : await this.versions.getModelUid(caller.tenant, model);
    const now = Date.now();
    const row: PolicyRow = {
      tenant_id: caller.tenant,
      model_name: model ?? TENANT_SCOPE,
      stage,
      body: JSON.stringify(body),
      updated_at: now,
      updated_by: caller.principal.subject,
      updated_by_tenant: caller.principal.tenantId,
    };
    const stored = this.present(row);
    await this.database.transaction(async (trx) => {
      await this.repository.put(row, trx);
      await this.history.append(
        [this.entry(caller, model, uid, HistoryEvent.PolicySet, stage, now, body)],
        trx,
      );
      await EventOutbox.record(trx, [
        policyEvent('policy.updated', caller.tenant, stored, caller.principal),
      ]);
    });
    return stored;
  }

  async delete(caller: Caller, model: string | null, stage: PolicyStage): Promise<void> {
    const uid = model === null ? '' : await this.versions.getModelUid(caller.tenant, model);
    const now = Date.now();
    const deleted = await this.database.transaction(async (trx) => {
      if (!(await this.repository.delete(caller.tenant, model ?? TENANT_SCOPE, stage, trx))) {
        return false;
      }
      await this.history.append(
        [this.entry(caller, model, uid, HistoryEvent.PolicyDeleted, stage, now, null)],
        trx,
      );
      await EventOutbox.record(trx, [
        policyEvent('policy.deleted', caller.tenant, { stage, model }, caller.principal),
      ]);
      return true;
    });
    if (!deleted) throw policyNotFound(stage, model);
  }

  private present(row: PolicyRow): StoredPolicyDto {
    return present(row, this.config.protectedAliases);
  }

  /** A tenant-level entry (model '' and version 0) or a model-level one (version 0). */
  private entry(
    caller: Caller,
    model: string | null,
    uid: string,
    event: HistoryEvent,
    stage: PolicyStage,
    at: number,
    body: PolicyBody | null,
  ): HistoryEntry {
    const scope = model === null ? 'tenant' : `model '${model}'`;
    return {
      tenant_id: caller.tenant,
      model_name: model ?? TENANT_SCOPE,
      model_uid: uid,
      version: 0,
      event,
      from_stage: null,
      to_stage: stage,
      actor: caller.principal.subject,
      actor_tenant: caller.principal.tenantId,
      at,
      comment:
        body === null
          ? `${stage} policy of the ${scope} deleted`
          : `${stage} policy of the ${scope} set: ${JSON.stringify(body)}`,
      approval_id: null,
      requested_by: null,
      requested_by_tenant: null,
      approved_by: null,
      approved_by_tenant: null,
    };
  }
}

function parse(row: PolicyRow): PolicyBody {
  return JSON.parse(row.body) as PolicyBody;
}

/** What GET answers: the stored fields with the stage's defaults filled in. */
function present(row: PolicyRow, protectedAliases: string[]): StoredPolicyDto {
  const stage = row.stage as PolicyStage;
  const policy = effectivePolicy(stage, parse(row), 'tenant');
  policy.protected_aliases ??= protectedAliases;
  const shown: Record<string, unknown> = {
    stage,
    model: row.model_name === TENANT_SCOPE ? null : row.model_name,
  };
  for (const f of STAGE_FIELDS[stage]) shown[f] = policy[f];
  shown.updated_at = iso(Number(row.updated_at));
  shown.updated_by = row.updated_by;
  return shown as unknown as StoredPolicyDto;
}
