import { Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { ErrorCode } from '../../common/errors/error-code';
import { RegistryError } from '../../common/errors/registry-error';
import { AppConfig } from '../../config/app-config';
import { Database, type Db } from '../../database/database';

/** How long a registration waits for the one before it before answering 503. */
const WAIT_MS = 30_000;

/**
 * A lease per (tenant, model) in the service database, so that registrations of one model run
 * one at a time across every replica sharing the database. Taken with one conditional upsert
 * (free, or expired), renewed while held, released at the end; a crashed holder's lease simply
 * expires, or, with the database to one process (SQLite), is released when the next one starts.
 */
@Injectable()
export class ModelLock implements OnApplicationBootstrap {
  private readonly logger = new Logger(ModelLock.name);

  /** A holder that stops renewing (a crashed replica) loses the lock after this long. */
  private readonly leaseMs: number;

  constructor(
    private readonly database: Database,
    config: AppConfig,
  ) {
    this.leaseMs = config.registrationLockLeaseMs;
  }

  /**
   * On SQLite, before the service listens: every lock in the table was held by a registration
   * of a process that died (none of this one's has started), so it goes now instead of keeping
   * that model's registrations waiting (503) for up to a lease. On PostgreSQL a lock may be
   * another replica's, live: those wait for their lease to expire.
   */
  async onApplicationBootstrap(): Promise<void> {
    if (!this.database.singleProcess) return;
    const result = await this.database.db.deleteFrom('registration_locks').executeTakeFirst();
    const released = Number(result.numDeletedRows);
    if (released > 0) {
      this.logger.warn(`released ${released} registration lock(s) left by a stopped process`);
    }
  }

  /**
   * Runs `work` holding the lock of (tenant, model). The lock is released when `work` ends, or
   * earlier with the commit of a transaction `work` runs through `lease.releaseWith` (the
   * release then costs no round trip of its own).
   */
  async withLock<T>(
    tenant: string,
    model: string,
    work: (lease: LockLease) => Promise<T>,
  ): Promise<T> {
    const holder = randomUUID();
    await this.acquire(tenant, model, holder);
    const renewer = setInterval(() => {
      this.renew(tenant, model, holder).catch((err: unknown) =>
        this.logger.warn({ err, model }, 'could not renew a registration lock'),
      );
    }, this.leaseMs / 3);
    const lease = new LockLease((db) => this.release(db, tenant, model, holder), this.database);
    try {
      return await work(lease);
    } finally {
      clearInterval(renewer);
      if (!lease.released) {
        await this.release(this.database.db, tenant, model, holder).catch((err: unknown) =>
          // It expires on its own within the lease.
          this.logger.warn({ err, model }, 'could not release a registration lock'),
        );
      }
    }
  }

  private async release(db: Db, tenant: string, model: string, holder: string): Promise<void> {
    await db
      .deleteFrom('registration_locks')
      .where('tenant_id', '=', tenant)
      .where('model_name', '=', model)
      .where('holder', '=', holder)
      .execute();
  }

  private async acquire(tenant: string, model: string, holder: string): Promise<void> {
    const deadline = Date.now() + WAIT_MS;
    for (let pause = 25; ; pause = Math.min(pause * 2, 500)) {
      const now = Date.now();
      const result = await this.database.db
        .insertInto('registration_locks')
        .values({ tenant_id: tenant, model_name: model, holder, expires_at: now + this.leaseMs })
        .onConflict((oc) =>
          oc
            .columns(['tenant_id', 'model_name'])
            .doUpdateSet({ holder, expires_at: now + this.leaseMs })
            .where('registration_locks.expires_at', '<', now),
        )
        .executeTakeFirst();
      if (Number(result.numInsertedOrUpdatedRows ?? 0) > 0) return;
      if (Date.now() + pause > deadline) {
        throw new RegistryError(
          ErrorCode.BackendUnavailable,
          `another registration of model '${model}' is still running; retry shortly`,
          undefined,
          5,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, pause));
    }
  }

  private async renew(tenant: string, model: string, holder: string): Promise<void> {
    await this.database.db
      .updateTable('registration_locks')
      .set({ expires_at: Date.now() + this.leaseMs })
      .where('tenant_id', '=', tenant)
      .where('model_name', '=', model)
      .where('holder', '=', holder)
      .execute();
  }
}

/** A held registration lock, for `work` to release inside a transaction of its own. */
export class LockLease {
  private releasedByCommit = false;

  constructor(
    private readonly releaseIn: (db: Db) => Promise<void>,
    private readonly database: Database,
  ) {}

  get released(): boolean {
    return this.releasedByCommit;
  }

  /**
   * Runs `fn` in one transaction that also releases the lock: both commit together, or neither
   * (the lock is then released when the work ends, as usual).
   */
  async releaseWith<T>(fn: (trx: Db) => Promise<T>): Promise<T> {
    const result = await this.database.transaction(async (trx) => {
      const value = await fn(trx);
      await this.releaseIn(trx);
      return value;
    });
    this.releasedByCommit = true;
    return result;
  }
}
