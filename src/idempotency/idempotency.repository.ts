import { Injectable, Logger } from '@nestjs/common';
import { Interval } from '@nestjs/schedule';
import type { ExpressionBuilder, Selectable } from 'kysely';
import { Database, Db } from '../database/database';
import type { DatabaseSchema, IdempotencyKeysTable } from '../database/schema';
import { isUniqueViolation } from '../database/unique-violation';

export type IdempotencyRow = Selectable<IdempotencyKeysTable>;

export interface IdempotencyScope {
  tenant: string;
  subject: string;
  key: string;
}

export interface IdempotencyAttempt {
  method: string;
  path: string;
  fingerprint: string | null;
  owner: string;
  now: number;
  leaseMs: number;
  ttlMs: number;
}

export interface StoredAnswer {
  statusCode: number;
  body: string;
  location: string | null;
  fingerprint: string | null;
}

const SWEEP_INTERVAL_MS = 60 * 60 * 1000;

/**
 * Idempotency-Key records, one per caller and key: claimed by the first attempt (a row
 * `in_progress` under a lease), then holding its answer until the key expires. The database
 * row is the lock, so replicas sharing the database agree on who runs a request.
 */
@Injectable()
export class IdempotencyRepository {
  private readonly logger = new Logger(IdempotencyRepository.name);

  constructor(private readonly database: Database) {}

  private get db(): Db {
    return this.database.db;
  }

  /**
   * Claims the key for this attempt. Returns undefined when the attempt now holds it (a new key,
   * an expired one, or one whose previous holder's lease ran out), or the row someone else holds.
   */
  async claim(scope: IdempotencyScope, a: IdempotencyAttempt): Promise<IdempotencyRow | undefined> {
    for (let round = 0; round < 3; round++) {
      try {
        await this.db
          .insertInto('idempotency_keys')
          .values({
            tenant_id: scope.tenant,
            subject: scope.subject,
            idem_key: scope.key,
            method: a.method,
            path: a.path,
            fingerprint: a.fingerprint,
            state: 'in_progress',
            owner: a.owner,
            lease_until: a.now + a.leaseMs,
            status_code: null,
            response_body: null,
            location: null,
            created_at: a.now,
            expires_at: a.now + a.ttlMs,
          })
          .execute();
        return undefined;
      } catch (err) {
        if (!isUniqueViolation(err)) throw err;
      }
      const row = await this.find(scope);
      if (row === undefined) continue; // removed in between: try the insert again
      if (Number(row.expires_at) < a.now) {
        await this.db
          .deleteFrom('idempotency_keys')
          .where(this.match(scope))
          .where('owner', '=', row.owner)
          .execute();
        continue;
      }
      if (row.state === 'in_progress' && Number(row.lease_until) < a.now) {
        // Its attempt died (a crash) without an answer: this attempt takes the key over.
        const taken = await this.db
          .updateTable('idempotency_keys')
          .where(this.match(scope))
          .set({
            owner: a.owner,
            lease_until: a.now + a.leaseMs,
            method: a.method,
            path: a.path,
            fingerprint: a.fingerprint,
          })
          .where('owner', '=', row.owner)
          .where('state', '=', 'in_progress')
          .executeTakeFirst();
        if (Number(taken.numUpdatedRows) === 1) return undefined;
        continue;
      }
      return row;
    }
    throw new Error('idempotency key claim did not settle');
  }

  /** Records the answer of the attempt holding the key; false when it no longer holds it. */
  async complete(scope: IdempotencyScope, owner: string, answer: StoredAnswer): Promise<boolean> {
    const result = await this.db
      .updateTable('idempotency_keys')
      .where(this.match(scope))
      .set({
        state: 'done',
        status_code: answer.statusCode,
        response_body: answer.body,
        location: answer.location,
        fingerprint: answer.fingerprint,
      })
      .where('owner', '=', owner)
      .where('state', '=', 'in_progress')
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  /** Gives the key up after a failed attempt, so that a retry runs the request again. */
  async release(scope: IdempotencyScope, owner: string): Promise<void> {
    await this.db
      .deleteFrom('idempotency_keys')
      .where(this.match(scope))
      .where('owner', '=', owner)
      .where('state', '=', 'in_progress')
      .execute();
  }

  find(scope: IdempotencyScope): Promise<IdempotencyRow | undefined> {
    return this.db
      .selectFrom('idempotency_keys')
      .selectAll()
      .where(this.match(scope))
      .executeTakeFirst();
  }

  /** Drops expired keys, hourly (a claim also replaces an expired key it meets). Never throws. */
  @Interval('idempotency-key-sweep', SWEEP_INTERVAL_MS)
  async sweep(now = Date.now()): Promise<void> {
    try {
      await this.db.deleteFrom('idempotency_keys').where('expires_at', '<', now).execute();
    } catch (err) {
      this.logger.warn({ err }, 'could not sweep expired idempotency keys');
    }
  }

  private match(s: IdempotencyScope) {
    return (eb: ExpressionBuilder<DatabaseSchema, 'idempotency_keys'>) =>
      eb.and([
        eb('tenant_id', '=', s.tenant),
        eb('subject', '=', s.subject),
        eb('idem_key', '=', s.key),
      ]);
  }
}
