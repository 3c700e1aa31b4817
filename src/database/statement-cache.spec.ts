import BetterSqlite3 from 'better-sqlite3';
import { withStatementCache } from './statement-cache';

describe('withStatementCache', () => {
  let sqlite: BetterSqlite3.Database;

  beforeEach(() => {
    sqlite = new BetterSqlite3(':memory:');
    sqlite.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)');
    sqlite.exec("INSERT INTO t (v) VALUES ('a'), ('b'), ('c')");
  });

  afterEach(() => {
    if (sqlite.open) sqlite.close();
  });

  it('prepares a SQL text once and runs it with each call’s parameters', () => {
    const db = withStatementCache(sqlite);
    const prepare = jest.spyOn(sqlite, 'prepare');
    const sql = 'SELECT v FROM t WHERE id = ?';
    const first = db.prepare(sql);
    expect(db.prepare(sql)).toBe(first);
    expect(prepare).toHaveBeenCalledTimes(1);
    expect(db.prepare(sql).all([1])).toEqual([{ v: 'a' }]);
    expect(db.prepare(sql).all([3])).toEqual([{ v: 'c' }]);
    expect(db.prepare('INSERT INTO t (v) VALUES (?)').run(['d']).changes).toBe(1);
    expect(db.prepare('SELECT count(*) AS n FROM t').all([])).toEqual([{ n: 4 }]);
  });

  it('drops the least recently used statement past its size', () => {
    const db = withStatementCache(sqlite, 2);
    const a = db.prepare('SELECT 1 AS x');
    const b = db.prepare('SELECT 2 AS x');
    expect(db.prepare('SELECT 1 AS x')).toBe(a); // a is now the most recent
    db.prepare('SELECT 3 AS x'); // drops b
    expect(db.prepare('SELECT 1 AS x')).toBe(a);
    const bAgain = db.prepare('SELECT 2 AS x');
    expect(bAgain).not.toBe(b);
    expect(bAgain.all([])).toEqual([{ x: 2 }]);
  });

  it('gives a fresh statement while the kept one is still iterating', () => {
    const db = withStatementCache(sqlite);
    const sql = 'SELECT v FROM t ORDER BY id';
    const kept = db.prepare(sql);
    const rows = kept.iterate([]);
    expect(rows.next().value).toEqual({ v: 'a' });
    const other = db.prepare(sql);
    expect(other).not.toBe(kept);
    expect(other.all([])).toEqual([{ v: 'a' }, { v: 'b' }, { v: 'c' }]);
    expect([...rows]).toEqual([{ v: 'b' }, { v: 'c' }]);
    expect(db.prepare(sql)).toBe(kept);
  });

  it('keeps working after the schema changes under a kept statement', () => {
    const db = withStatementCache(sqlite);
    const sql = 'SELECT * FROM t WHERE id = ?';
    expect(db.prepare(sql).all([1])).toEqual([{ id: 1, v: 'a' }]);
    sqlite.exec('CREATE INDEX t_v ON t (v)');
    sqlite.exec("ALTER TABLE t ADD COLUMN w TEXT DEFAULT 'x'");
    expect(db.prepare(sql).all([1])).toEqual([{ id: 1, v: 'a', w: 'x' }]);
  });

  it('closes the database', () => {
    const db = withStatementCache(sqlite);
    db.prepare('SELECT 1');
    db.close();
    expect(sqlite.open).toBe(false);
  });
});
