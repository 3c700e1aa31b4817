import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Logger } from '@nestjs/common';
import { Client } from 'pg';
import { freshDatabase } from '../../test/support/stack';
import { AuditService } from '../../src/audit/audit.service';
import { HistoryEntry, HistoryRepository } from '../../src/audit/history.repository';
import { loadConfig } from '../../src/config/app-config';
import { Database } from '../../src/database/database';
import { HistoryEvent } from '../../src/database/schema';
import { Context } from '../lib/context';
import { round, summarize, LatencySummary } from '../lib/http';

export interface AuditResult {
  backend: string;
  entries: number;
  /** Appending them through HistoryRepository.append, BATCH per transaction. */
  appendSeconds: number;
  /** AuditService.verify over the whole chain (what GET /audit/verify runs). */
  verifySeconds: number;
  verifiedPerSecond: number;
  /** One entry appended in its own transaction, as a registration does: chained vs a plain insert. */
  singleAppend: { chained: LatencySummary; plainInsert: LatencySummary; addedMsP50: number };
}

const BATCH = 1000;

function entry(tenant: string, i: number): HistoryEntry {
  return {
    tenant_id: tenant,
    model_name: `model-${i % 500}`,
    model_uid: `uid-${i % 500}`,
    version: 1 + Math.floor(i / 500),
    event: HistoryEvent.Registered,
    from_stage: null,
    to_stage: 'none',
    actor: 'bench',
    actor_tenant: tenant,
    at: 1_700_000_000_000 + i,
    comment: i % 3 === 0 ? `entry ${i}` : null,
    approval_id: null,
    requested_by: null,
    requested_by_tenant: null,
    approved_by: null,
    approved_by_tenant: null,
    details: i % 7 === 0 ? JSON.stringify({ votes: i % 4 }) : null,
  };
}

async function measure(
  ctx: Context,
  backend: string,
  database: Database,
  entries: number,
): Promise<AuditResult> {
  const history = new HistoryRepository(database);
  const audit = new AuditService(history);
  const tenant = `audit-${ctx.runId}`;
  const appendStart = performance.now();
  for (let i = 0; i < entries; i += BATCH) {
    const batch = Array.from({ length: Math.min(BATCH, entries - i) }, (_, j) =>
      entry(tenant, i + j),
    );
    await history.append(batch);
  }
  const appendSeconds = (performance.now() - appendStart) / 1000;
  ctx.log(`  ${backend}: ${entries} entries appended in ${round(appendSeconds)} s`);

  const verifyStart = performance.now();
  const verified = await audit.verify(tenant);
  const verifySeconds = (performance.now() - verifyStart) / 1000;
  if (!verified.ok || verified.entries !== entries) {
    throw new Error(`verify of ${entries} entries answered ${JSON.stringify(verified)}`);
  }
  ctx.log(`  ${backend}: verified in ${round(verifySeconds)} s`);

  // The chain's cost to one registration: its one entry, alone in a transaction, appended
  // through the chain (head read and locked, hash, head update) vs inserted as before it.
  const rounds = ctx.smoke ? 20 : 300;
  const chained: number[] = [];
  const plain: number[] = [];
  for (let i = 0; i < rounds; i++) {
    let t0 = performance.now();
    await history.append([entry(`${tenant}-single`, i)]);
    chained.push(performance.now() - t0);
    t0 = performance.now();
    await database.transaction(async (trx) => {
      await trx
        .insertInto('history')
        .values({ ...entry(`${tenant}-plain`, i), seq: i + 1, prev_hash: '', hash: '' })
        .execute();
    });
    plain.push(performance.now() - t0);
  }
  const c = summarize(chained);
  const p = summarize(plain);
  return {
    backend,
    entries,
    appendSeconds: round(appendSeconds),
    verifySeconds: round(verifySeconds),
    verifiedPerSecond: Math.round(entries / verifySeconds),
    singleAppend: { chained: c, plainInsert: p, addedMsP50: round(c.p50 - p.p50, 3) },
  };
}

/** The audit verify of `entries` entries (SQLite, and PostgreSQL when the stack is up). */
export async function auditVerify(ctx: Context, entries: number): Promise<AuditResult[]> {
  Logger.overrideLogger(['error', 'warn']); // the migrations' log lines, in this process
  const results: AuditResult[] = [];
  const dataDir = mkdtempSync(join(ctx.tmp, 'audit-'));
  const base = { DATA_DIR: dataDir, AUTH_JWT_SECRET: 'x'.repeat(32), LOG_LEVEL: 'silent' };
  const sqlite = await Database.open(loadConfig(base));
  try {
    results.push(await measure(ctx, 'embedded SQLite', sqlite, entries));
  } finally {
    await sqlite.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
  if (ctx.stack) {
    const url = await freshDatabase('bench_audit');
    const postgres = await Database.open(loadConfig({ ...base, DATABASE_URL: url }));
    try {
      results.push(await measure(ctx, 'PostgreSQL', postgres, entries));
    } finally {
      await postgres.close();
      const admin = new Client({ connectionString: ctx.stack.databaseUrl });
      await admin.connect();
      await admin.query(`DROP DATABASE IF EXISTS "${new URL(url).pathname.slice(1)}"`);
      await admin.end();
    }
  }
  return results;
}

/** The report's section. */
export function auditReport(results: AuditResult[]): string {
  const rows = results.map((r) =>
    [
      r.backend,
      r.entries.toLocaleString('en-US'),
      `${r.verifySeconds} s`,
      r.verifiedPerSecond.toLocaleString('en-US'),
      `${r.appendSeconds} s`,
      `${r.singleAppend.chained.p50} / ${r.singleAppend.plainInsert.p50} ms (+${r.singleAppend.addedMsP50} ms)`,
    ].join(' | '),
  );
  return `## 7. Audit chain

\`GET /audit/verify\`'s work (AuditService.verify, in process: every entry read in pages of 1,000
and its hash recomputed) over one tenant's chain, after appending it through HistoryRepository.append
in transactions of ${BATCH} entries. The last column is the chain's cost to a registration: one entry
appended alone in its transaction through the chain (head locked and updated) vs a plain insert,
p50 of each.

| backend | entries | verify | entries/s | append all | one append: chained / plain |
|---|---|---|---|---|---|
${rows.map((r) => `| ${r} |`).join('\n')}
`;
}
