import { RegistryError } from '../common/errors/registry-error';
import { directionOf, MetricDirection } from './metric-direction';

export interface ComparedVersion {
  version: number;
  metrics: Record<string, number>;
}

export interface MetricVerdict {
  name: string;
  direction: MetricDirection;
  /** False when some version lacks the metric: shown, but left out of the verdict. */
  compared: boolean;
  /** The versions with the best value (several on a tie); empty when not compared. */
  best_versions: number[];
}

export interface Recommendation {
  recommended_version: number | null;
  recommendation: string;
  metrics: MetricVerdict[];
}

const fmt = (x: number): string => String(Number(x.toPrecision(6)));

/**
 * The margin `better − worse`, absolute and relative to `worse`, never Infinity or NaN. The
 * difference of two finite numbers may be beyond the largest double (1e308 − −1e308) while its
 * half never is: it is then written out from the half. A relative change that is not finite
 * (against a value at the edge of zero) is left out.
 */
function delta(better: number, worse: number): string {
  let diff = better - worse;
  let scale = 1;
  if (!Number.isFinite(diff)) {
    diff = better / 2 - worse / 2;
    scale = 2;
  }
  const sign = diff >= 0 ? '+' : '−';
  const abs = scale === 1 ? fmt(Math.abs(diff)) : doubled(Math.abs(diff));
  if (worse === 0) return `${sign}${abs}`;
  const pct = Math.abs((diff / worse) * 100 * scale);
  if (!Number.isFinite(pct)) return `${sign}${abs}`;
  return `${sign}${abs}, ${sign}${pct.toFixed(1)}%`;
}

/** `2 × half` in exponent notation, for a value past the largest double. */
function doubled(half: number): string {
  const [mantissa, exponent] = half.toExponential().split('e');
  let m = 2 * Number(mantissa);
  let e = Number(exponent);
  if (m >= 10) {
    m /= 10;
    e += 1;
  }
  return `${Number(m.toPrecision(6))}e+${e}`;
}

function list(items: string[]): string {
  if (items.length <= 1) return items.join('');
  return `${items.slice(0, -1).join(', ')} and ${items[items.length - 1]}`;
}

const versionsText = (vs: number[]): string =>
  vs.length === 1 ? `version ${vs[0]}` : `versions ${list(vs.map(String))}`;

/** `a` is better than `b` on a metric with this direction. */
const better = (direction: MetricDirection, a: number, b: number): boolean =>
  direction === MetricDirection.HigherIsBetter ? a > b : a < b;

interface Margin {
  name: string;
  /** -1: worse than the strongest rival, 0: equal, 1: better. */
  side: -1 | 0 | 1;
  text: string;
}

/** `w` on metric `m` against the strongest of `others` on it: the margin that matters. */
function marginOf(m: MetricVerdict, w: ComparedVersion, others: ComparedVersion[]): Margin {
  const rivalValue = others
    .map((o) => o.metrics[m.name])
    .reduce((best, x) => (better(m.direction, x, best) ? x : best));
  const value = w.metrics[m.name];
  const vs = others.length === 1 ? '' : 'best other ';
  const side = better(m.direction, value, rivalValue)
    ? 1
    : better(m.direction, rivalValue, value)
      ? -1
      : 0;
  return {
    name: m.name,
    side,
    text: `${m.name} ${fmt(value)} vs ${vs}${fmt(rivalValue)} (${delta(value, rivalValue)})`,
  };
}

const MOVED = { [1]: 'better', [0]: 'equal', [-1]: 'worse' } as const;

/**
 * With a primary metric named: the version best on it is recommended, and the text says how
 * the other metrics moved against the strongest rival on each. A primary metric that some
 * compared version lacks cannot decide: 400 naming `primary_metric`.
 */
function byPrimary(
  primary: string,
  versions: ComparedVersion[],
  metrics: MetricVerdict[],
  skippedNote: string,
): Recommendation {
  const m = metrics.find((x) => x.name === primary);
  if (m === undefined) {
    throw RegistryError.validation(
      `primary_metric: '${primary.slice(0, 100)}' is not a metric of the compared versions (they have ${list(metrics.map((x) => x.name)) || 'none'})`,
    );
  }
  if (!m.compared) {
    const lacking = versions.filter((v) => typeof v.metrics[primary] !== 'number');
    throw RegistryError.validation(
      `primary_metric: '${primary}' is missing from ${versionsText(lacking.map((v) => v.version))}, so it cannot decide`,
    );
  }
  if (m.best_versions.length > 1) {
    const tie = versions.find((v) => v.version === m.best_versions[0])!.metrics[primary];
    return {
      recommended_version: null,
      recommendation: `No clear winner: ${versionsText(m.best_versions)} tie on ${primary}, the primary metric (${fmt(tie)})${skippedNote}`,
      metrics,
    };
  }
  const winner = versions.find((v) => v.version === m.best_versions[0])!;
  const others = versions.filter((v) => v !== winner);
  const rest = metrics
    .filter((x) => x.compared && x.name !== primary)
    .map((x) => marginOf(x, winner, others))
    .map((x) => `${x.name} ${MOVED[x.side]}: ${x.text.slice(x.name.length + 1)}`);
  const lead = `Version ${winner.version} is best on ${primary}, the primary metric: ${marginOf(m, winner, others).text}`;
  return {
    recommended_version: winner.version,
    recommendation: `${lead}${rest.length > 0 ? `; the others: ${rest.join('; ')}` : ''}${skippedNote}`,
    metrics,
  };
}

/**
 * Without a version that is at least as good everywhere: one that alone is best on more than
 * half of the compared metrics is recommended, with the metrics it loses (and ties) named.
 */
function byMajority(
  versions: ComparedVersion[],
  shared: MetricVerdict[],
  metrics: MetricVerdict[],
  skippedNote: string,
): Recommendation | undefined {
  const wins = (v: ComparedVersion) =>
    shared.filter((m) => m.best_versions.length === 1 && m.best_versions[0] === v.version);
  const winner = versions.find((v) => wins(v).length * 2 > shared.length);
  if (winner === undefined) return undefined;
  const others = versions.filter((v) => v !== winner);
  const margins = shared.map((m) => marginOf(m, winner, others));
  const named = (side: Margin['side']) => margins.filter((x) => x.side === side);
  const worse = named(-1).map((x) => x.text);
  const equal = named(0).map((x) => x.name);
  return {
    recommended_version: winner.version,
    recommendation:
      `Version ${winner.version} is better on ${wins(winner).length} of ${shared.length} metrics: ` +
      named(1)
        .map((x) => x.text)
        .join('; ') +
      (worse.length > 0 ? `; worse on ${worse.join('; ')}` : '') +
      (equal.length > 0 ? `; equal on ${list(equal)}` : '') +
      skippedNote,
    metrics,
  };
}

/**
 * Decides which version to recommend and says why. A version is recommended when it is at
 * least as good as every other on every metric they all have, and strictly better than each of
 * them on at least one. Otherwise there is no clear winner, and the text says which metric
 * favours which version.
 */
export function recommend(
  versions: ComparedVersion[],
  options: { primaryMetric?: string } = {},
): Recommendation {
  const names = [...new Set(versions.flatMap((v) => Object.keys(v.metrics)))].sort();
  const metrics: MetricVerdict[] = names.map((name) => {
    const direction = directionOf(name);
    const compared = versions.every((v) => typeof v.metrics[name] === 'number');
    let best: number[] = [];
    if (compared) {
      const values = versions.map((v) => v.metrics[name]);
      const top =
        direction === MetricDirection.HigherIsBetter ? Math.max(...values) : Math.min(...values);
      best = versions.filter((v) => v.metrics[name] === top).map((v) => v.version);
    }
    return { name, direction, compared, best_versions: best };
  });
  const shared = metrics.filter((m) => m.compared);
  const skipped = metrics.filter((m) => !m.compared).map((m) => m.name);
  const skippedNote =
    skipped.length > 0 ? ` (not compared, missing from some versions: ${list(skipped)})` : '';
  const all = versions.map((v) => v.version);

  if (options.primaryMetric !== undefined) {
    return byPrimary(options.primaryMetric, versions, metrics, skippedNote);
  }
  if (shared.length === 0) {
    return {
      recommended_version: null,
      recommendation: `No clear winner: ${versionsText(all)} have no metric in common to compare${skippedNote}`,
      metrics,
    };
  }

  const winner = versions.find((w) =>
    versions.every(
      (other) =>
        other === w ||
        (shared.every((m) => !better(m.direction, other.metrics[m.name], w.metrics[m.name])) &&
          shared.some((m) => better(m.direction, w.metrics[m.name], other.metrics[m.name]))),
    ),
  );

  if (winner === undefined) {
    const allTied = shared.every((m) => m.best_versions.length === versions.length);
    if (allTied) {
      return {
        recommended_version: null,
        recommendation: `No clear winner: ${versionsText(all)} are equal on every compared metric (${list(shared.map((m) => m.name))})${skippedNote}`,
        metrics,
      };
    }
    const majority = byMajority(versions, shared, metrics, skippedNote);
    if (majority !== undefined) return majority;
    const parts = shared.map((m) => {
      if (m.best_versions.length === versions.length) return `${m.name} is equal`;
      const lead = m.best_versions;
      if (versions.length === 2 && lead.length === 1) {
        const a = versions.find((v) => v.version === lead[0])!;
        const b = versions.find((v) => v.version !== lead[0])!;
        return `${m.name} favours version ${a.version} (${fmt(a.metrics[m.name])} vs ${fmt(b.metrics[m.name])}, ${delta(a.metrics[m.name], b.metrics[m.name])})`;
      }
      return `${m.name} favours ${versionsText(lead)}`;
    });
    return {
      recommended_version: null,
      recommendation: `No clear winner: ${parts.join('; ')}${skippedNote}`,
      metrics,
    };
  }

  const others = versions.filter((v) => v !== winner);
  // Against the strongest rival on each metric, so the margin is the one that matters.
  const margins = shared.map((m) => {
    const margin = marginOf(m, winner, others);
    return { name: margin.name, strict: margin.side === 1, text: margin.text };
  });
  const strictAll = margins.every((x) => x.strict);
  const newest = Math.max(...all);
  let lead: string;
  if (strictAll && versions.length === 2) {
    lead =
      winner.version === newest
        ? `Version ${winner.version} shows improvement across all metrics`
        : `Version ${winner.version} outperforms version ${others[0].version} on all metrics`;
  } else if (strictAll) {
    lead = `Version ${winner.version} is best on all metrics`;
  } else {
    const equal = margins.filter((x) => !x.strict).map((x) => x.name);
    lead = `Version ${winner.version} is better on ${list(margins.filter((x) => x.strict).map((x) => x.name))} and equal on ${list(equal)}`;
  }
  return {
    recommended_version: winner.version,
    recommendation: `${lead}: ${margins
      .filter((x) => x.strict)
      .map((x) => x.text)
      .join('; ')}${skippedNote}`,
    metrics,
  };
}
