import { Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { MetadataCache } from '../cache/metadata-cache';
import { scheduleEvery, singleFlight } from '../common/scheduling/periodic';
import { AppConfig } from '../config/app-config';
import { entriesOf, eventsOf, IntentRow, IntentsRepository } from './intents.repository';
import { IntentKind } from '../database/schema';

/** How long a reconciliation attempt holds an intent (one replica at a time). */
const RECONCILE_LEASE_MS = 30_000;

/**
 * The feature that made a kind of change, asked about an intent of it left behind: did the
 * change happen in the backend (its entries are then recorded), or not (the intent is dropped)?
 * Throws when the backend cannot tell yet: the intent stays for the next round.
 */
export interface IntentOwner {
  /** Whether the intent's history entries are to be recorded. */
  happened(row: IntentRow): Promise<boolean>;
  /** What the change was, in words, for the log ('a stage transition to staging'). */
  describe(row: IntentRow): string;
}

/**
 * Settles the intents whose request ended between asking the backend and recording the change
 * (a crash, a timeout, a database error), every APPROVAL_RETRY_INTERVAL_MS, one replica per
 * intent. The features own their kinds (`register`): this module knows none of them.
 */
@Injectable()
export class IntentReconciler implements OnApplicationBootstrap {
  private readonly logger = new Logger(IntentReconciler.name);
  private readonly owners = new Map<IntentKind, IntentOwner>();

  constructor(
    private readonly intents: IntentsRepository,
    private readonly cache: MetadataCache,
    private readonly config: AppConfig,
    private readonly scheduler: SchedulerRegistry,
  ) {}

  register(kind: IntentKind, owner: IntentOwner): void {
    this.owners.set(kind, owner);
  }

  /** Every APPROVAL_RETRY_INTERVAL_MS, and once at start. */
  onApplicationBootstrap(): void {
    scheduleEvery(
      this.scheduler,
      'intent-reconciler',
      this.config.approvalRetryIntervalMs,
      singleFlight('intent reconciler', () => this.reconcileIntents()),
    );
  }

  /** One round: every intent whose request is over, oldest first (50 at most). Never throws. */
  async reconcileIntents(): Promise<void> {
    let rows: IntentRow[];
    try {
      rows = await this.intents.expired(Date.now(), 50);
    } catch (err) {
      this.logger.warn({ err }, 'could not read transition intents to reconcile');
      return;
    }
    for (const row of rows) {
      try {
        if (!(await this.intents.claim(row, Date.now(), RECONCILE_LEASE_MS))) continue;
        await this.reconcile(row);
      } catch (err) {
        // The backend or database is down: the intent stays, and the next round tries again.
        this.logger.warn({ err, intentId: row.id }, 'could not reconcile a transition intent');
        await this.intents.expire(row.id).catch(() => undefined);
      }
    }
  }

  private async reconcile(row: IntentRow): Promise<void> {
    const owner = this.owners.get(row.kind as IntentKind);
    if (owner === undefined) throw new Error(`no owner for intents of kind '${row.kind}'`);
    const happened = await owner.happened(row);
    // Drops the intent, recording its entries if the change happened; says so when it did.
    const settled = await this.intents.settle(
      row.id,
      happened ? entriesOf(row) : null,
      happened ? eventsOf(row) : [],
    );
    if (!settled || !happened) {
      return;
    }
    await this.cache.invalidateModel(row.tenant_id, row.model_name);
    this.logger.warn(
      { intentId: row.id, tenant: row.tenant_id, model: row.model_name, version: row.version },
      `recorded ${owner.describe(row)} whose request ended before recording it`,
    );
  }
}
