import { Injectable } from '@nestjs/common';
import type { Selectable } from 'kysely';
import { Database, Db } from '../database/database';
import type { ArtifactsTable } from '../database/schema';
import type { ArtifactFileName } from './artifact-files';

export interface StoredFile {
  name: ArtifactFileName;
  size: number;
  sha256: string;
}

export enum ArtifactStatus {
  Uploading = 'uploading',
  Ready = 'ready',
}

export type ArtifactRow = Selectable<ArtifactsTable>;

export function filesOf(row: ArtifactRow): StoredFile[] {
  return JSON.parse(row.files) as StoredFile[];
}

@Injectable()
export class ArtifactsRepository {
  constructor(private readonly database: Database) {}

  private get db() {
    return this.database.db;
  }

  async insertUploading(id: string, tenant: string, createdBy: string, at: number): Promise<void> {
    await this.db
      .insertInto('artifacts')
      .values({
        id,
        tenant_id: tenant,
        status: ArtifactStatus.Uploading,
        created_by: createdBy,
        created_at: at,
        files: '[]',
      })
      .execute();
  }

  async markReady(id: string, files: StoredFile[]): Promise<void> {
    await this.db
      .updateTable('artifacts')
      .set({ status: ArtifactStatus.Ready, files: JSON.stringify(files) })
      .where('id', '=', id)
      .execute();
  }

  findReady(tenant: string, id: string): Promise<ArtifactRow | undefined> {
    return this.db
      .selectFrom('artifacts')
      .selectAll()
      .where('tenant_id', '=', tenant)
      .where('id', '=', id)
      .where('status', '=', ArtifactStatus.Ready)
      .executeTakeFirst();
  }

  /** Reserves a ready, unregistered artifact for one registration; false if taken. */
  async claim(tenant: string, id: string, model: string): Promise<boolean> {
    const result = await this.db
      .updateTable('artifacts')
      .set({ model_name: model })
      .where('tenant_id', '=', tenant)
      .where('id', '=', id)
      .where('status', '=', ArtifactStatus.Ready)
      .where('model_name', 'is', null)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  async release(id: string): Promise<void> {
    await this.db
      .updateTable('artifacts')
      .set({ model_name: null })
      .where('id', '=', id)
      .where('model_version', 'is', null)
      .execute();
  }

  async markRegistered(id: string, version: number, at: number, db: Db = this.db): Promise<void> {
    await db
      .updateTable('artifacts')
      .set({ model_version: version, registered_at: at })
      .where('id', '=', id)
      .execute();
  }

  async delete(id: string): Promise<void> {
    await this.db.deleteFrom('artifacts').where('id', '=', id).execute();
  }

  /** Uploads that never finished (the process died mid-upload), older than `before`. */
  staleUploads(before: number): Promise<ArtifactRow[]> {
    return this.db
      .selectFrom('artifacts')
      .selectAll()
      .where('status', '=', ArtifactStatus.Uploading)
      .where('created_at', '<', before)
      .execute();
  }

  registeredTo(tenant: string, model: string, version?: number): Promise<ArtifactRow[]> {
    let q = this.db
      .selectFrom('artifacts')
      .selectAll()
      .where('tenant_id', '=', tenant)
      .where('model_name', '=', model);
    if (version !== undefined) q = q.where('model_version', '=', version);
    return q.execute();
  }
}
