/**
 * The verdicts of the load run: the counts the service reports against what the driver did,
 * and the checks the run passes or fails on.
 */
import type { Options } from './options';
import type { MemoryFigures } from './memory';
import type { Driver, Stage } from './workload';

export interface CountsVerdict {
  ok: boolean;
  details: Record<string, number>;
  problems: string[];
}

/** Reads everything back and compares it with what the driver did. */
export async function verifyCounts(driver: Driver): Promise<CountsVerdict> {
  const problems: string[] = [];
  let listedVersions = 0;
  let historyTransitions = 0;
  const viewer = driver.tokens.viewer;
  for (const m of driver.models) {
    const res = await driver.request<{ versions: { version: number; stage: Stage }[] }>(
      'verify',
      'GET',
      `/models/${m.name}/versions`,
      200,
      viewer,
    );
    if (!res) {
      problems.push(`${m.name}: versions could not be listed`);
      continue;
    }
    const listed = res.versions;
    listedVersions += listed.length;
    if (listed.length !== m.versions.size) {
      problems.push(`${m.name}: ${listed.length} versions listed, ${m.versions.size} registered`);
    }
    for (const v of listed) {
      const expected = m.versions.get(v.version);
      if (expected !== v.stage) {
        problems.push(`${m.name} v${v.version}: stage ${v.stage}, expected ${expected}`);
      }
      const h = await driver.request<{ transitions: { event: string }[] }>(
        'verify',
        'GET',
        `/models/${m.name}/versions/${v.version}/transitions`,
        200,
        viewer,
      );
      if (h) {
        historyTransitions += h.transitions.filter((e) => e.event === 'transition').length;
      }
    }
  }
  let approvedListed = 0;
  let pageToken: string | undefined;
  do {
    const q = `/approvals?status=approved&max_results=1000${pageToken ? `&page_token=${pageToken}` : ''}`;
    const page = await driver.request<{
      approvals: { apply_state: string }[];
      next_page_token?: string;
    }>('verify', 'GET', q, 200, viewer);
    if (!page) break;
    for (const a of page.approvals) {
      approvedListed++;
      if (a.apply_state !== 'applied') problems.push(`an approved approval is ${a.apply_state}`);
    }
    pageToken = page.next_page_token;
  } while (pageToken !== undefined);
  const live = driver.versionsRegistered - driver.versionsDeleted;
  if (listedVersions !== live)
    problems.push(
      `versions: ${listedVersions} listed, ${driver.versionsRegistered} registered - ${driver.versionsDeleted} deleted`,
    );
  const onLive = driver.transitionsMade - driver.transitionsOfDeleted;
  if (historyTransitions !== onLive)
    problems.push(
      `transitions: ${historyTransitions} history entries of listed versions, ${onLive} made on them`,
    );
  if (approvedListed !== driver.approvalsApproved)
    problems.push(`approvals: ${approvedListed} approved listed, ${driver.approvalsApproved} made`);
  return {
    ok: problems.length === 0,
    problems,
    details: {
      versions_registered: driver.versionsRegistered,
      versions_deleted: driver.versionsDeleted,
      versions_listed: listedVersions,
      transitions_made: driver.transitionsMade,
      transitions_made_on_deleted_versions: driver.transitionsOfDeleted,
      transition_history_entries: historyTransitions,
      approvals_approved: driver.approvalsApproved,
      approvals_listed_approved: approvedListed,
    },
  };
}

/** Every check of the run: it passes when all hold. */
export function checksOf(
  o: Options,
  driver: Driver,
  scheduled: number,
  counts: CountsVerdict,
  memory: MemoryFigures,
) {
  return {
    zero_errors: errorCount(driver) === 0,
    counts_correct: counts.ok,
    // the workload held its rate: at most 1 % of the operations due were not started because
    // `concurrency` operations were still running
    steady_rate: driver.stats.skipped <= scheduled * 0.01,
    // judged on runs of 3 minutes or more: before, V8 is still growing its heap
    rss_slope_flat: o.duration < 180 || memory.rssSlope <= o.maxSlopeMiBPerMin,
    rss_growth_bounded: memory.growth <= o.maxGrowthMiB,
    // judged when there was a full GC in the first and in the last minute after warm-up
    heap_floor_flat: memory.floorGrowth === null || memory.floorGrowth <= o.maxHeapFloorGrowthMiB,
  };
}

export type Checks = ReturnType<typeof checksOf>;

/** Answers that did not have the status their operation expects, or none. */
export function errorCount(driver: Driver): number {
  return [...driver.stats.ops.values()].reduce((s, op) => s + op.errors, 0);
}
