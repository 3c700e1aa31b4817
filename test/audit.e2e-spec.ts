import BetterSqlite3 from 'better-sqlite3';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { Client } from 'pg';
import request from 'supertest';
import { auth, registerVersion } from './support/fixtures';
import { BASE, createTestApp, removeDir, TestApp } from './support/test-app';

/**
 * The tamper-evident history through HTTP, as an auditor uses it: every entry of a tenant
 * comes back from GET /audit linked to the one before by its hash, which the test recomputes
 * with its own few lines (not the service's function); GET /audit/verify says the chain holds,
 * and finds the entry someone changed or deleted in the database behind the service's back.
 * On the embedded default the database is the SQLite file in DATA_DIR; in the e2e-real run,
 * the app's own PostgreSQL database.
 */

interface Entry {
  id: number;
  seq: number;
  prev_hash: string;
  hash: string;
  event: string;
  comment: string | null;
  [field: string]: unknown;
}

const GENESIS = '0'.repeat(64);

/** The README's recipe: sorted keys, compact, every field but id, hash and timestamp. */
function recompute(entry: Entry): string {
  const fields = Object.keys(entry)
    .filter((k) => !['id', 'hash', 'timestamp'].includes(k))
    .sort();
  const canonical = `{${fields.map((k) => `${JSON.stringify(k)}:${JSON.stringify(entry[k])}`).join(',')}}`;
  return createHash('sha256')
    .update(entry.prev_hash + canonical, 'utf8')
    .digest('hex');
}

/** Runs SQL on the app's database directly, with the append-only triggers dropped first. */
async function tamper(t: TestApp, statement: string, params: unknown[]): Promise<void> {
  if (t.config.databaseUrl !== undefined) {
    const client = new Client({ connectionString: t.config.databaseUrl });
    await client.connect();
    try {
      await client.query('DROP TRIGGER IF EXISTS history_append_only ON history');
      let n = 0;
      const numbered = statement.replace(/\?/g, () => `$${++n}`);
      const result = await client.query(numbered, params);
      expect(result.rowCount).toBe(1);
    } finally {
      await client.end();
    }
    return;
  }
  const sqlite = new BetterSqlite3(join(t.dataDir, 'registry.db'));
  try {
    sqlite.pragma('busy_timeout = 5000');
    sqlite.exec(
      'DROP TRIGGER IF EXISTS history_no_update; DROP TRIGGER IF EXISTS history_no_delete',
    );
    expect(sqlite.prepare(statement).run(...params).changes).toBe(1);
  } finally {
    sqlite.close();
  }
}

describe('audit: the hash-chained history of a tenant', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp();
  });

  afterAll(async () => {
    await t.close();
    removeDir(t.dataDir);
  });

  const admin = (tenant: string) => t.token('root', ['admin'], tenant);

  /** register, staging, a production request and its approval: entries of every kind. */
  async function workflow(tenant: string, model: string): Promise<void> {
    const editor = await t.token('alice', ['editor'], tenant);
    const approver = await t.token('bob', ['approver'], tenant);
    await registerVersion(t, editor, model);
    await registerVersion(t, editor, model);
    await request(t.http)
      .post(`${BASE}/models/${model}/versions/1/stage`)
      .set(...auth(editor))
      .send({ stage: 'staging', comment: 'looks good' })
      .expect(200);
    const asked = await request(t.http)
      .post(`${BASE}/models/${model}/versions/1/stage`)
      .set(...auth(editor))
      .send({ stage: 'production', comment: 'Validated on holdout set' })
      .expect(202);
    await request(t.http)
      .post(`${BASE}/approvals/${asked.body.approval.id as string}/approve`)
      .set(...auth(approver))
      .send({ comment: 'ok' })
      .expect(200);
  }

  async function allEntries(tenant: string, pageSize = 1000): Promise<Entry[]> {
    const token = await admin(tenant);
    const entries: Entry[] = [];
    let pageToken: string | undefined;
    do {
      const res = await request(t.http)
        .get(`${BASE}/audit`)
        .query({ max_results: pageSize, ...(pageToken ? { page_token: pageToken } : {}) })
        .set(...auth(token))
        .expect(200);
      entries.push(...(res.body.entries as Entry[]));
      pageToken = res.body.next_page_token as string | undefined;
    } while (pageToken !== undefined);
    return entries;
  }

  async function verify(tenant: string) {
    const res = await request(t.http)
      .get(`${BASE}/audit/verify`)
      .set(...auth(await admin(tenant)))
      .expect(200);
    return res.body as {
      ok: boolean;
      entries: number;
      head: string | null;
      first_bad: { id: number | null; reason: string } | null;
    };
  }

  it("a workflow's entries come back oldest first, each linked to the one before by its hash", async () => {
    await workflow('chained', 'churn-predictor');
    const entries = await allEntries('chained');
    expect(entries.map((e) => e.event)).toEqual([
      'registered',
      'registered',
      'transition',
      'approval_requested',
      'approval_approved',
      'transition',
    ]);
    expect(entries.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(entries[0].prev_hash).toBe(GENESIS);
    entries.forEach((entry, i) => {
      expect(entry.hash).toMatch(/^[0-9a-f]{64}$/);
      expect(entry.hash).toBe(recompute(entry));
      if (i > 0) expect(entry.prev_hash).toBe(entries[i - 1].hash);
    });
    // Every field of the entry, as stored.
    expect(entries[5]).toEqual({
      id: expect.any(Number),
      seq: 6,
      tenant_id: 'chained',
      model_name: 'churn-predictor',
      model_uid: expect.any(String),
      version: 1,
      event: 'transition',
      from_stage: 'staging',
      to_stage: 'production',
      actor: 'bob',
      actor_tenant: 'chained',
      at: expect.any(Number),
      timestamp: new Date(entries[5].at as number).toISOString(),
      comment: 'ok',
      approval_id: expect.any(String),
      requested_by: 'alice',
      requested_by_tenant: 'chained',
      approved_by: 'bob',
      approved_by_tenant: 'chained',
      details: null,
      prev_hash: entries[4].hash,
      hash: expect.any(String),
    });

    expect(await verify('chained')).toEqual({
      ok: true,
      entries: 6,
      head: entries[5].hash,
      first_bad: null,
    });
  });

  it('each tenant has a chain of its own; an admin reads another one with tenant_id', async () => {
    await workflow('other-tenant', 'fraud-detector');
    const own = await allEntries('other-tenant');
    expect(own[0]).toMatchObject({ seq: 1, prev_hash: GENESIS, tenant_id: 'other-tenant' });
    expect(own.every((e) => e.tenant_id === 'other-tenant')).toBe(true);

    const res = await request(t.http)
      .get(`${BASE}/audit/verify`)
      .query({ tenant_id: 'other-tenant' })
      .set(...auth(await admin('chained')))
      .expect(200);
    expect(res.body).toMatchObject({ ok: true, entries: own.length });
  });

  it('a tenant without history verifies, with no head', async () => {
    expect(await verify('nobody-here')).toEqual({
      ok: true,
      entries: 0,
      head: null,
      first_bad: null,
    });
    const res = await request(t.http)
      .get(`${BASE}/audit`)
      .set(...auth(await admin('nobody-here')))
      .expect(200);
    expect(res.body).toEqual({ entries: [] });
  });

  it('pages through the chain in order, with the same entries as one page', async () => {
    const whole = await allEntries('chained');
    const paged = await allEntries('chained', 4);
    expect(paged).toEqual(whole);
    const first = await request(t.http)
      .get(`${BASE}/audit`)
      .query({ max_results: 6 })
      .set(...auth(await admin('chained')))
      .expect(200);
    expect(first.body.entries).toHaveLength(6);
    expect(first.body.next_page_token).toBeUndefined();
  });

  it('refuses bad paging parameters, naming them', async () => {
    const token = await admin('chained');
    for (const [query, message] of [
      [{ max_results: 0 }, 'max_results must be an integer from 1 to 1000'],
      [{ max_results: 1001 }, 'max_results must be an integer from 1 to 1000'],
      [{ page_token: 'not-a-token' }, 'page_token is not a token this service issued'],
      [{ page_token: 'a b' }, 'page_token is not a token this service issued'],
    ] as const) {
      const res = await request(t.http)
        .get(`${BASE}/audit`)
        .query(query)
        .set(...auth(token))
        .expect(400);
      expect(res.body).toMatchObject({ code: 'VALIDATION_FAILED', message });
    }
    const unknown = await request(t.http)
      .get(`${BASE}/audit/verify`)
      .query({ max_results: 5 })
      .set(...auth(token))
      .expect(400);
    expect(unknown.body.message).toMatch(/max_results/);
  });

  it('is for admins only: 401 without a token, 403 for every other role', async () => {
    await request(t.http).get(`${BASE}/audit`).expect(401);
    await request(t.http).get(`${BASE}/audit/verify`).expect(401);
    for (const role of ['viewer', 'editor', 'approver'] as const) {
      const token = await t.token('carol', [role], 'chained');
      for (const path of ['/audit', '/audit/verify']) {
        const res = await request(t.http)
          .get(`${BASE}${path}`)
          .set(...auth(token))
          .expect(403);
        expect(res.body).toMatchObject({ code: 'FORBIDDEN' });
      }
    }
  });

  it('many concurrent appends to one tenant still form one sound chain', async () => {
    const editor = await t.token('alice', ['editor'], 'busy');
    await Promise.all(
      Array.from({ length: 20 }, (_, i) => registerVersion(t, editor, `model-${i % 4}`)),
    );
    const entries = await allEntries('busy');
    expect(entries).toHaveLength(20);
    expect(entries.map((e) => e.seq)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    expect(await verify('busy')).toMatchObject({ ok: true, entries: 20 });
  });

  describe('tampering in the database, with the append-only triggers dropped', () => {
    it('an edited comment: verify names the entry, a hash mismatch', async () => {
      await workflow('edited', 'churn-predictor');
      const entries = await allEntries('edited');
      const victim = entries[3];
      await tamper(t, 'UPDATE history SET comment = ? WHERE id = ?', ['nothing to see', victim.id]);
      const result = await verify('edited');
      expect(result).toEqual({
        ok: false,
        entries: 3,
        head: entries[2].hash,
        first_bad: { id: victim.id, reason: expect.stringMatching(/^hash mismatch: entry/) },
      });
      expect(result.first_bad!.reason).toContain(`entry ${victim.id} (seq 4)`);
      // The tenants next door are untouched.
      expect((await verify('chained')).ok).toBe(true);

      // Put back as it was, the entry holds again: verify judged the content, nothing else.
      await tamper(t, 'UPDATE history SET comment = ? WHERE id = ?', [victim.comment, victim.id]);
      expect(await verify('edited')).toMatchObject({ ok: true, entries: entries.length });
    });

    it('an entry deleted from the middle: verify names the next one, a gap in seq', async () => {
      await workflow('middle', 'churn-predictor');
      const entries = await allEntries('middle');
      await tamper(t, 'DELETE FROM history WHERE id = ?', [entries[2].id]);
      expect(await verify('middle')).toEqual({
        ok: false,
        entries: 2,
        head: entries[1].hash,
        first_bad: {
          id: entries[3].id,
          reason: expect.stringMatching(
            new RegExp(`^gap in seq: entry ${entries[3].id} has seq 4, expected 3`),
          ),
        },
      });
    });

    it('the newest entry deleted: verify says the head does not match the last entry', async () => {
      await workflow('tail', 'churn-predictor');
      const entries = await allEntries('tail');
      const last = entries[entries.length - 1];
      await tamper(t, 'DELETE FROM history WHERE id = ?', [last.id]);
      const before = entries[entries.length - 2];
      expect(await verify('tail')).toEqual({
        ok: false,
        entries: entries.length - 1,
        head: before.hash,
        first_bad: {
          id: before.id,
          reason: expect.stringMatching(
            new RegExp(
              `^head mismatch: the chain head records seq ${last.seq} with hash ${last.hash}, ` +
                `but the last entry is ${before.id} \\(seq ${before.seq},`,
            ),
          ),
        },
      });
    });

    it('an edited entry with its hash recomputed: the next entry no longer links to it', async () => {
      await workflow('forged', 'churn-predictor');
      const entries = await allEntries('forged');
      const victim = { ...entries[1], actor: 'mallory' };
      await tamper(t, 'UPDATE history SET actor = ?, hash = ? WHERE id = ?', [
        'mallory',
        recompute(victim),
        victim.id,
      ]);
      expect((await verify('forged')).first_bad).toEqual({
        id: entries[2].id,
        reason: expect.stringMatching(/^broken link: entry/),
      });
    });
  });
});
