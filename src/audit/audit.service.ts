import { Injectable } from '@nestjs/common';
import { RegistryError } from '../common/errors/registry-error';
import { iso } from '../common/time';
import { HistoryEvent } from '../database/schema';
import type { Stage } from '../mlflow/registry-types';
import { ChainVerifier, type ChainBreak, type StoredEntry } from './audit-chain';
import type { AuditEntryDto, AuditPageDto, AuditVerificationDto } from './dto/audit.dto';
import { HistoryRepository, HistoryRow } from './history.repository';

/** Entries read per query while verifying: memory stays bounded whatever the history's length. */
export const VERIFY_PAGE = 1000;

const DEFAULT_PAGE = 100;

interface PageCursor {
  v: 1;
  /** The seq of the last entry of the previous page. */
  s: number;
}

function encodeCursor(seq: number): string {
  return Buffer.from(JSON.stringify({ v: 1, s: seq } satisfies PageCursor)).toString('base64url');
}

function decodeCursor(token: string): number {
  try {
    const c = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as Partial<PageCursor>;
    if (c.v === 1 && typeof c.s === 'number' && Number.isSafeInteger(c.s) && c.s >= 0) return c.s;
  } catch {
    // fall through
  }
  throw RegistryError.validation('page_token is not a token this service issued');
}

export function mapAuditEntry(row: HistoryRow): AuditEntryDto {
  return {
    id: Number(row.id),
    seq: Number(row.seq),
    tenant_id: row.tenant_id,
    model_name: row.model_name,
    model_uid: row.model_uid,
    version: Number(row.version),
    event: row.event as HistoryEvent,
    from_stage: row.from_stage as Stage | null,
    to_stage: row.to_stage as Stage | null,
    actor: row.actor,
    actor_tenant: row.actor_tenant,
    at: Number(row.at),
    timestamp: iso(Number(row.at)),
    comment: row.comment,
    approval_id: row.approval_id,
    requested_by: row.requested_by,
    requested_by_tenant: row.requested_by_tenant,
    approved_by: row.approved_by,
    approved_by_tenant: row.approved_by_tenant,
    details: row.details,
    prev_hash: row.prev_hash,
    hash: row.hash,
  };
}

/** The stored row as verification reads it: numbers as numbers, whatever the driver gave. */
function stored(row: HistoryRow): StoredEntry {
  const numberOrNull = (v: unknown) => (v === null || v === undefined ? null : Number(v));
  return {
    ...row,
    id: Number(row.id),
    seq: numberOrNull(row.seq),
    version: numberOrNull(row.version),
    at: numberOrNull(row.at),
  };
}

/** A tenant's tamper-evident history: reading it page by page, and checking its chain. */
@Injectable()
export class AuditService {
  constructor(private readonly history: HistoryRepository) {}

  async list(
    tenant: string,
    query: { max_results?: number; page_token?: string },
  ): Promise<AuditPageDto> {
    const limit = query.max_results ?? DEFAULT_PAGE;
    const after = query.page_token === undefined ? 0 : decodeCursor(query.page_token);
    // One more than the page: whether a next page exists, without a token to an empty one.
    const rows = await this.history.chainPage(tenant, after, limit + 1);
    const page: AuditPageDto = { entries: rows.slice(0, limit).map(mapAuditEntry) };
    if (rows.length > limit) page.next_page_token = encodeCursor(page.entries[limit - 1].seq);
    return page;
  }

  /**
   * Recomputes the tenant's chain, oldest first, VERIFY_PAGE entries at a time, up to the head
   * as it was when verification started (entries appended meanwhile are the next run's): the
   * first entry that does not hold, or how many do and the head they end in.
   */
  async verify(tenant: string): Promise<AuditVerificationDto> {
    const head = await this.history.head(tenant);
    const verifier = new ChainVerifier();
    const failed = (bad: ChainBreak): AuditVerificationDto => ({
      ok: false,
      entries: verifier.entries,
      head: verifier.head,
      first_bad: bad,
    });
    const end = head?.seq ?? 0;
    let after = 0;
    while (after < end) {
      const rows = await this.history.chainPage(tenant, after, VERIFY_PAGE);
      for (const row of rows) {
        const entry = stored(row);
        if ((entry.seq ?? 0) > end) break;
        const bad = verifier.next(entry);
        if (bad !== null) return failed(bad);
      }
      if (rows.length < VERIFY_PAGE) break;
      after = Number(rows[rows.length - 1].seq);
    }
    const bad = verifier.finish(head);
    if (bad !== null) return failed(bad);
    // Outside the chain: an entry without a seq, or past the head, which no append wrote (an
    // append moves the head in its own transaction) unless one committed since the head was
    // read, which moved it.
    const outside = await this.history.outsideChain(tenant, end);
    if (outside !== undefined) {
      const now = await this.history.head(tenant);
      if (outside.seq === null || now === undefined || now.seq === end) {
        const id = Number(outside.id);
        return failed({
          id,
          reason:
            outside.seq === null
              ? `entry ${id} has no seq: it was not appended through the chain`
              : `entry ${id} (seq ${Number(outside.seq)}) is past the chain head (seq ${end}): ` +
                'it was not appended through the chain',
        });
      }
    }
    return { ok: true, entries: verifier.entries, head: verifier.head, first_bad: null };
  }
}
