import type { HistoryEntry } from '../audit/history.repository';
import { directEntry } from '../audit/direct-entry';
import type { Caller } from '../common/auth/caller.decorator';
import { HistoryEvent } from '../database/schema';

/** What happened to an alias: set (new), moved (from one version to another) or deleted. */
export type AliasChange =
  | { kind: 'set'; alias: string; to: number }
  | { kind: 'moved'; alias: string; from: number; to: number }
  | { kind: 'deleted'; alias: string; from: number };

/**
 * The history entries of an alias change, one on each version it touched: `alias_set` on the
 * version it now names, `alias_deleted` on the one it left. The comment says which alias and
 * from/to which version (the history has no column for them).
 */
export function aliasEntries(
  caller: Caller,
  model: { name: string; uid: string },
  change: AliasChange,
): HistoryEntry[] {
  const entry = (version: number, event: HistoryEvent, comment: string): HistoryEntry =>
    directEntry(caller, { model: model.name, uid: model.uid, version }, event, { comment });
  const at = `@${change.alias}`;
  switch (change.kind) {
    case 'set':
      return [entry(change.to, HistoryEvent.AliasSet, `${at} set on version ${change.to}`)];
    case 'moved':
      return [
        entry(
          change.from,
          HistoryEvent.AliasDeleted,
          `${at} moved from version ${change.from} to version ${change.to}`,
        ),
        entry(
          change.to,
          HistoryEvent.AliasSet,
          `${at} moved from version ${change.from} to version ${change.to}`,
        ),
      ];
    case 'deleted':
      return [
        entry(change.from, HistoryEvent.AliasDeleted, `${at} deleted from version ${change.from}`),
      ];
  }
}
