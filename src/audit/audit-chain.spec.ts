import {
  canonicalJson,
  ChainVerifier,
  entryHash,
  GENESIS_HASH,
  type StoredEntry,
} from './audit-chain';

/** An entry as written, with an awkward comment: quotes, a newline, a control character, non-ASCII. */
const ENTRY = {
  tenant_id: 'acme-corp',
  seq: 1,
  prev_hash: GENESIS_HASH,
  model_name: 'churn-predictor',
  model_uid: 'u-1',
  version: 2,
  event: 'transition',
  from_stage: 'staging',
  to_stage: 'production',
  actor: 'bob',
  actor_tenant: 'acme-corp',
  at: 1742036400000,
  comment: 'Validé "ok"\n\u0001 ✓',
  approval_id: null,
  requested_by: 'alice',
  requested_by_tenant: 'acme-corp',
  approved_by: 'bob',
  approved_by_tenant: 'acme-corp',
  details: '{"votes":2}',
};

/**
 * What Python's json.dumps(entry, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
 * and hashlib.sha256((prev_hash + that).encode()).hexdigest() give for ENTRY (computed with
 * Python 3, the README's recipe): the hash is reproducible outside this service.
 */
const PYTHON_CANONICAL =
  '{"actor":"bob","actor_tenant":"acme-corp","approval_id":null,"approved_by":"bob",' +
  '"approved_by_tenant":"acme-corp","at":1742036400000,"comment":"Validé \\"ok\\"\\n\\u0001 ✓",' +
  '"details":"{\\"votes\\":2}","event":"transition","from_stage":"staging",' +
  '"model_name":"churn-predictor","model_uid":"u-1","prev_hash":"' +
  GENESIS_HASH +
  '","requested_by":"alice","requested_by_tenant":"acme-corp","seq":1,' +
  '"tenant_id":"acme-corp","to_stage":"production","version":2}';
const PYTHON_HASH = 'aee206b49d01380a656c297b72f91db628c1fd2951c436bd9fb36d8fd0e300aa';

describe('the canonical JSON of a history entry', () => {
  it("is Python's sorted, compact json.dumps of the entry, byte for byte", () => {
    expect(canonicalJson(ENTRY)).toBe(PYTHON_CANONICAL);
    expect(entryHash(ENTRY)).toBe(PYTHON_HASH);
  });

  it('does not depend on the order of the keys given', () => {
    const reversed = Object.fromEntries(Object.entries(ENTRY).reverse());
    expect(canonicalJson(reversed)).toBe(PYTHON_CANONICAL);
  });

  it('keeps nulls, and writes a missing field as null', () => {
    const rest: Record<string, unknown> = { ...ENTRY };
    delete rest.details;
    delete rest.approval_id;
    expect(canonicalJson(rest)).toBe(canonicalJson({ ...ENTRY, details: null }));
    expect(canonicalJson(rest)).toContain('"approval_id":null');
    expect(canonicalJson(rest)).toContain('"details":null');
  });

  it('leaves out the database id, the hash and anything that is not a column', () => {
    const stored: Record<string, unknown> = { ...ENTRY, id: 7, hash: 'ab', timestamp: 'x' };
    expect(canonicalJson(stored)).toBe(PYTHON_CANONICAL);
  });

  it('writes numbers as JSON numbers, so "2" and 2 hash differently', () => {
    expect(canonicalJson(ENTRY)).toContain('"version":2}');
    expect(() => canonicalJson({ ...ENTRY, version: '2' })).toThrow(
      'history entry field version must be an integer or null, not string',
    );
    expect(() => canonicalJson({ ...ENTRY, at: 1.5 })).toThrow(/field at must be an integer/);
    expect(() => canonicalJson({ ...ENTRY, comment: 3 })).toThrow(/field comment must be text/);
  });

  it('changes with any field, the link to the previous entry included', () => {
    const base = entryHash(ENTRY);
    for (const changed of [
      { comment: 'Validé "ok"\n\u0001 ✓ ' },
      { actor: 'mallory' },
      { at: ENTRY.at + 1 },
      { seq: 2 },
      { prev_hash: 'f'.repeat(64) },
      { details: null },
      { approval_id: '' },
    ]) {
      expect(entryHash({ ...ENTRY, ...changed })).not.toBe(base);
    }
  });
});

describe('verifying a chain', () => {
  /** A sound chain of `n` entries, ids 10, 20, 30, ... */
  function chain(n: number): StoredEntry[] {
    const entries: StoredEntry[] = [];
    let prev = GENESIS_HASH;
    for (let i = 1; i <= n; i++) {
      const entry = { ...ENTRY, at: ENTRY.at + i, seq: i, prev_hash: prev };
      const hash = entryHash(entry);
      entries.push({ ...entry, id: i * 10, hash });
      prev = hash;
    }
    return entries;
  }

  function verify(entries: StoredEntry[], head: { seq: number; hash: string } | undefined) {
    const verifier = new ChainVerifier();
    for (const entry of entries) {
      const bad = verifier.next(entry);
      if (bad !== null) return bad;
    }
    return verifier.finish(head) ?? { entries: verifier.entries, head: verifier.head };
  }

  const headOf = (entries: StoredEntry[]) => {
    const last = entries[entries.length - 1];
    return { seq: last.seq!, hash: last.hash! };
  };

  it('a sound chain holds, up to its head', () => {
    const entries = chain(4);
    expect(verify(entries, headOf(entries))).toEqual({ entries: 4, head: entries[3].hash });
  });

  it('an empty history without a head holds', () => {
    expect(verify([], undefined)).toEqual({ entries: 0, head: null });
  });

  it('an edited entry: hash mismatch at that entry', () => {
    const entries = chain(4);
    const head = headOf(entries);
    entries[1] = { ...entries[1], comment: 'rewritten' };
    expect(verify(entries, head)).toEqual({
      id: 20,
      reason: expect.stringMatching(/^hash mismatch: entry 20 \(seq 2\) stores hash [0-9a-f]{64}/),
    });
  });

  it('an edited entry with its hash recomputed: the next entry no longer links to it', () => {
    const entries = chain(4);
    const head = headOf(entries);
    const forged = { ...entries[1], comment: 'rewritten' };
    entries[1] = { ...forged, hash: entryHash(forged) };
    expect(verify(entries, head)).toEqual({
      id: 30,
      reason: expect.stringMatching(/^broken link: entry 30 \(seq 3\) has prev_hash/),
    });
  });

  it('a deleted entry in the middle: a gap in seq at the next one', () => {
    const entries = chain(4);
    const head = headOf(entries);
    entries.splice(1, 1);
    expect(verify(entries, head)).toEqual({
      id: 30,
      reason: 'gap in seq: entry 30 has seq 3, expected 2 after entry 10 (1 entries deleted)',
    });
  });

  it('the first entry deleted: a gap at the start', () => {
    const entries = chain(3).slice(1);
    expect(verify(entries, headOf(entries))).toEqual({
      id: 20,
      reason: expect.stringMatching(/^gap in seq: entry 20 has seq 2, expected 1 at the start/),
    });
  });

  it('the last entries deleted: the head does not match the last entry', () => {
    const entries = chain(4);
    const head = headOf(entries);
    expect(verify(entries.slice(0, 2), head)).toEqual({
      id: 20,
      reason: expect.stringMatching(
        /^head mismatch: the chain head records seq 4 with hash [0-9a-f]{64}, but the last entry is 20 \(seq 2, hash [0-9a-f]{64}\): 2 entries at the end were deleted$/,
      ),
    });
  });

  it('every entry deleted, the head left: reported without an id', () => {
    const entries = chain(2);
    expect(verify([], headOf(entries))).toEqual({
      id: null,
      reason: expect.stringMatching(/but there are no entries: 2 entries at the end were deleted$/),
    });
  });

  it('an entry written without the chain (no seq) is reported as such', () => {
    const entries = chain(2);
    entries[1] = { ...entries[1], seq: null, prev_hash: null, hash: null };
    expect(verify(entries, undefined)).toEqual({
      id: 20,
      reason: 'entry 20 has no seq: it was not written by the chain',
    });
  });
});
