import { Injectable } from '@nestjs/common';
import type { Selectable, Updateable } from 'kysely';
import { Database, Db } from '../database/database';
import type { WebhooksTable } from '../database/schema';

export type WebhookRow = Selectable<WebhooksTable>;

/** The webhook subscriptions of each tenant. Every read and write is within one tenant. */
@Injectable()
export class WebhooksRepository {
  constructor(private readonly database: Database) {}

  private get db(): Db {
    return this.database.db;
  }

  async insert(row: WebhookRow): Promise<void> {
    await this.db.insertInto('webhooks').values(row).execute();
  }

  list(tenant: string): Promise<WebhookRow[]> {
    return this.db
      .selectFrom('webhooks')
      .selectAll()
      .where('tenant_id', '=', tenant)
      .orderBy('created_at')
      .orderBy('id')
      .execute();
  }

  find(tenant: string, id: string, db: Db = this.db): Promise<WebhookRow | undefined> {
    return db
      .selectFrom('webhooks')
      .selectAll()
      .where('tenant_id', '=', tenant)
      .where('id', '=', id)
      .executeTakeFirst();
  }

  /** Changes a webhook; false when it does not exist (in the tenant). */
  async update(tenant: string, id: string, changes: Updateable<WebhooksTable>): Promise<boolean> {
    const result = await this.db
      .updateTable('webhooks')
      .set(changes)
      .where('tenant_id', '=', tenant)
      .where('id', '=', id)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  /** Deletes a webhook with its deliveries; false when it does not exist. */
  delete(tenant: string, id: string): Promise<boolean> {
    return this.database.transaction(async (trx) => {
      const result = await trx
        .deleteFrom('webhooks')
        .where('tenant_id', '=', tenant)
        .where('id', '=', id)
        .executeTakeFirst();
      if (Number(result.numDeletedRows) !== 1) return false;
      await trx.deleteFrom('webhook_deliveries').where('webhook_id', '=', id).execute();
      return true;
    });
  }

  /** Turns a webhook off from the delivery worker (a 410 Gone), whatever its tenant. */
  async disable(id: string, reason: string, now: number): Promise<void> {
    await this.db
      .updateTable('webhooks')
      .set({ active: 0, disabled_reason: reason, updated_at: now })
      .where('id', '=', id)
      .execute();
  }
}
