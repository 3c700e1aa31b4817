import type BetterSqlite3 from 'better-sqlite3';
import type { SqliteDatabase, SqliteStatement } from 'kysely';

/**
 * A better-sqlite3 database whose prepared statements are kept per SQL text, the least
 * recently used dropped past `max`. Kysely prepares every query it runs; preparing the same
 * text again costs ~6% of an uncached list page's CPU (BENCHMARKS.md §4), and each dropped
 * statement's native memory waits for a GC to be freed.
 *
 * Reusing a statement is safe because all() and run() finish before they return (better-sqlite3
 * is synchronous); a statement still iterating (a streamed query) is `busy`, and then a fresh
 * one is prepared for the caller instead.
 */
export function withStatementCache(sqlite: BetterSqlite3.Database, max = 500): SqliteDatabase {
  const statements = new Map<string, BetterSqlite3.Statement>();
  return {
    prepare(sql: string): SqliteStatement {
      const kept = statements.get(sql);
      if (kept !== undefined && !kept.busy) {
        // Most recently used last: the Map's first key is the one to drop.
        statements.delete(sql);
        statements.set(sql, kept);
        return kept;
      }
      const statement = sqlite.prepare(sql);
      if (kept === undefined) {
        statements.set(sql, statement);
        if (statements.size > max) statements.delete(statements.keys().next().value as string);
      }
      return statement;
    },
    close(): void {
      statements.clear();
      sqlite.close();
    },
  };
}
