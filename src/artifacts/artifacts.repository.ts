import { Injectable } from '@nestjs/common';
import type { Selectable } from 'kysely';
import { Database, Db } from '../database/database';
import type { ArtifactsTable } from '../database/schema';
import type { ArtifactFileName } from './artifact-files';
import { ArtifactStatus } from '../database/schema';

export interface StoredFile {
  name: ArtifactFileName;
  size: number;
  sha256: string;
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

  /** False when the row is gone (swept while the upload was still running). */
  async markReady(id: string, files: StoredFile[], db: Db = this.db): Promise<boolean> {
    const result = await db
      .updateTable('artifacts')
      .set({ status: ArtifactStatus.Ready, files: JSON.stringify(files) })
      .where('id', '=', id)
      .where('status', '=', ArtifactStatus.Uploading)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
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

  /**
   * Claims the artifact for `model`, if its claim is still what the caller read (`seen`):
   * compare-and-set, so of two registrations racing for one artifact exactly one wins.
   */
  async claim(
    id: string,
    seen: { model_name: string | null; claimed_at: number | null },
    model: string,
    at: number,
  ): Promise<boolean> {
    let q = this.db
      .updateTable('artifacts')
      .set({ model_name: model, claimed_at: at })
      .where('id', '=', id)
      .where('status', '=', ArtifactStatus.Ready)
      .where('model_version', 'is', null);
    q =
      seen.model_name === null
        ? q.where('model_name', 'is', null)
        : q.where('model_name', '=', seen.model_name).where('claimed_at', '=', seen.claimed_at);
    return Number((await q.executeTakeFirst()).numUpdatedRows) === 1;
  }

  /**
   * Dates every claim that has no version back to 0, as old as a claim can be: stale for the
   * next registration of its artifact, which takes it over like any abandoned claim. Returns
   * how many.
   */
  async expireClaims(): Promise<number> {
    const result = await this.db
      .updateTable('artifacts')
      .set({ claimed_at: 0 })
      .where('model_name', 'is not', null)
      .where('model_version', 'is', null)
      .executeTakeFirst();
    return Number(result.numUpdatedRows);
  }

  /** Gives up a claim that did not lead to a version. */
  async release(id: string, model: string): Promise<void> {
    await this.db
      .updateTable('artifacts')
      .set({ model_name: null, claimed_at: null })
      .where('id', '=', id)
      .where('model_name', '=', model)
      .where('model_version', 'is', null)
      .execute();
  }

  /**
   * Records the version registered from the artifact, its files now at `location` (null: where
   * the upload put them); false if one already is.
   */
  async markRegistered(
    id: string,
    model: string,
    version: number,
    at: number,
    location: string | null,
    db: Db = this.db,
  ): Promise<boolean> {
    const result = await db
      .updateTable('artifacts')
      .set({ model_name: model, model_version: version, registered_at: at, location })
      .where('id', '=', id)
      .where('model_version', 'is', null)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  /** The tenant an artifact was uploaded into, whatever its state; undefined when gone. */
  async tenantOf(id: string): Promise<string | undefined> {
    const row = await this.db
      .selectFrom('artifacts')
      .select('tenant_id')
      .where('id', '=', id)
      .executeTakeFirst();
    return row?.tenant_id;
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

  /** Artifacts with a recorded version of `model` (claims still in flight are not included). */
  registeredTo(tenant: string, model: string, version?: number): Promise<ArtifactRow[]> {
    let q = this.db
      .selectFrom('artifacts')
      .selectAll()
      .where('tenant_id', '=', tenant)
      .where('model_name', '=', model)
      .where('model_version', 'is not', null);
    if (version !== undefined) q = q.where('model_version', '=', version);
    return q.execute();
  }
}
