import { Controller, Get, Query } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Authenticated } from '../common/auth/authenticated.decorator';
import { Caller, CurrentCaller } from '../common/auth/caller.decorator';
import { Permission } from '../common/auth/roles';
import { ApiErrors, ERRORS } from '../common/http/api-errors.decorator';
import { TenantQueryDto } from '../common/validation/tenant-query.dto';
import { AuditService } from './audit.service';
import {
  AuditEntryDto,
  AuditPageDto,
  AuditVerificationDto,
  ListAuditQueryDto,
} from './dto/audit.dto';

const HASH = '9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08';

const AUDIT_PAGE_EXAMPLE = {
  entries: [
    {
      id: 42,
      seq: 7,
      tenant_id: 'acme-corp',
      model_name: 'churn-predictor',
      model_uid: '9b1f0c2e-2d4a-4c8e-a1f7-3e5d6c7b8a90',
      version: 2,
      event: 'transition',
      from_stage: 'staging',
      to_stage: 'production',
      actor: 'bob',
      actor_tenant: 'acme-corp',
      at: 1742036400000,
      timestamp: '2025-03-15T11:00:00.000Z',
      comment: 'Validated on holdout set with 0.91 F1 score',
      approval_id: '3f6d1c2e-8a4b-4f0e-9d7c-1b2a3c4d5e6f',
      requested_by: 'alice',
      requested_by_tenant: 'acme-corp',
      approved_by: 'bob',
      approved_by_tenant: 'acme-corp',
      details: null,
      prev_hash: '5d41402abc4b2a76b9719d911017c592ae1a3f0c2f5b8e9d7c6a5b4f3e2d1c0b',
      hash: HASH,
    } satisfies Record<keyof AuditEntryDto, unknown>,
  ],
  next_page_token: 'eyJ2IjoxLCJzIjo3fQ',
};

const VERIFIED_EXAMPLE: AuditVerificationDto = {
  ok: true,
  entries: 1250,
  head: HASH,
  first_bad: null,
};

@ApiTags('audit')
@Controller('audit')
export class AuditController {
  constructor(private readonly audit: AuditService) {}

  @Get()
  @Authenticated(Permission.Administer, { tenantQuery: false })
  @ApiOperation({
    summary: "Page through the tenant's hash-chained history (admin)",
    description:
      'Every history entry of the tenant (registrations, transitions, requests, decisions, ' +
      'deletions, ...), oldest first, each with its `seq`, `prev_hash` and `hash`: ' +
      '`hash` = sha256(`prev_hash` + canonical JSON of the entry), so anyone holding the ' +
      'entries can recompute the chain (README "Audit chain"). `max_results` (default 100, ' +
      'at most 1000) per page; `next_page_token` resumes after the last entry of the page.',
  })
  @ApiOkResponse({ type: AuditPageDto, example: AUDIT_PAGE_EXAMPLE })
  @ApiErrors(ERRORS.invalidInput)
  list(@CurrentCaller() caller: Caller, @Query() query: ListAuditQueryDto): Promise<AuditPageDto> {
    return this.audit.list(caller.tenant, query);
  }

  @Get('verify')
  @Authenticated(Permission.Administer, { tenantQuery: false })
  @ApiOperation({
    summary: "Verify the tenant's history chain (admin)",
    description:
      'Recomputes every hash, oldest first, and checks each link, that seq has no gap and ' +
      'that the recorded head is the last entry. `{ok: true, entries, head}` when it all ' +
      'holds; else `ok: false` with `first_bad: {id, reason}`, the first entry that does not ' +
      '(an edited entry, a deleted one, the newest ones deleted), `entries` and `head` then ' +
      'being the part before it that holds. Reads the history a page at a time.',
  })
  @ApiOkResponse({ type: AuditVerificationDto, example: VERIFIED_EXAMPLE })
  @ApiErrors(ERRORS.invalidInput)
  verify(
    @CurrentCaller() caller: Caller,
    @Query() _query: TenantQueryDto,
  ): Promise<AuditVerificationDto> {
    return this.audit.verify(caller.tenant);
  }
}
