import { directionOf, MetricDirection } from '../comparison/metric-direction';
import type { EvaluationRules, GateOp, MetricGate, NoRegressionRule } from './policy';

/** One rule's verdict on a version, as requests and 422 bodies show it. */
export interface GateResult {
  /** The rule in words, e.g. `f1_score >= 0.9`, `no_regression f1_score`, `tag bias_review`. */
  gate: string;
  type: 'metric' | 'no_regression' | 'tag';
  passed: boolean;
  /** The candidate's value (null when it has none). */
  actual: number | string | null;
  /** What passes, e.g. `>= 0.9`, `>= 0.902` (production 0.912 - tolerance 0.01), `= passed`. */
  expected: string;
  /** Why it passed or failed, in a sentence. */
  reason: string;
}

/** What a version shows the rules: its metrics and tags. */
export interface Evidence {
  version: number;
  metrics: Readonly<Record<string, number>>;
  tags: Readonly<Record<string, string>>;
}

const COMPARE: Record<GateOp, (a: number, b: number) => boolean> = {
  '>=': (a, b) => a >= b,
  '>': (a, b) => a > b,
  '<=': (a, b) => a <= b,
  '<': (a, b) => a < b,
  '==': (a, b) => a === b,
};

function metricOf(evidence: Evidence, metric: string): number | null {
  const value = Object.prototype.hasOwnProperty.call(evidence.metrics, metric)
    ? evidence.metrics[metric]
    : undefined;
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
}

/** Numbers as people write them: no binary noise (0.902 rather than 0.9019999999999999). */
function show(n: number): string {
  return String(Number(n.toPrecision(12)));
}

export function evaluateGate(gate: MetricGate, candidate: Evidence): GateResult {
  const name = `${gate.metric} ${gate.op} ${show(gate.value)}`;
  const expected = `${gate.op} ${show(gate.value)}`;
  const actual = metricOf(candidate, gate.metric);
  if (actual === null) {
    return {
      gate: name,
      type: 'metric',
      passed: false,
      actual: null,
      expected,
      reason: `version ${candidate.version} has no metric ${gate.metric}`,
    };
  }
  const passed = COMPARE[gate.op](actual, gate.value);
  return {
    gate: name,
    type: 'metric',
    passed,
    actual,
    expected,
    reason: passed
      ? `${gate.metric} is ${show(actual)}, ${expected}`
      : `${gate.metric} is ${show(actual)}, needs ${expected}`,
  };
}

/**
 * No regression against the version in production: direction-aware (higher is better unless a
 * loss or error metric, the comparison module's rule), `tolerance` in the metric's own units.
 * Null when there is no production version to compare with (the rule is skipped).
 */
export function evaluateNoRegression(
  rule: NoRegressionRule,
  candidate: Evidence,
  production: Evidence | null,
): GateResult | null {
  if (production === null || production.version === candidate.version) return null;
  const name = `no_regression ${rule.metric}`;
  const baseline = metricOf(production, rule.metric);
  const actual = metricOf(candidate, rule.metric);
  const higher = directionOf(rule.metric) === MetricDirection.HigherIsBetter;
  if (baseline === null) {
    return {
      gate: name,
      type: 'no_regression',
      passed: true,
      actual,
      expected: `no baseline: production version ${production.version} has no ${rule.metric}`,
      reason: `production version ${production.version} has no metric ${rule.metric}: nothing to regress from`,
    };
  }
  const bound = higher ? baseline - rule.tolerance : baseline + rule.tolerance;
  const op = higher ? '>=' : '<=';
  const expected = `${op} ${show(bound)} (production version ${production.version}: ${show(baseline)}, tolerance ${show(rule.tolerance)})`;
  if (actual === null) {
    return {
      gate: name,
      type: 'no_regression',
      passed: false,
      actual: null,
      expected,
      reason: `version ${candidate.version} has no metric ${rule.metric}`,
    };
  }
  // Compared with a relative epsilon so that a tolerance written as 0.01 admits exactly 0.01.
  const slack = 1e-12 * Math.max(1, Math.abs(bound));
  const passed = higher ? actual >= bound - slack : actual <= bound + slack;
  const direction = higher ? 'higher is better' : 'lower is better';
  return {
    gate: name,
    type: 'no_regression',
    passed,
    actual,
    expected,
    reason: passed
      ? `${rule.metric} ${show(actual)} against production's ${show(baseline)} (${direction}): within the tolerance of ${show(rule.tolerance)}`
      : `${rule.metric} ${show(actual)} is worse than production's ${show(baseline)} by more than ${show(rule.tolerance)} (${direction})`,
  };
}

export function evaluateTag(key: string, value: string, candidate: Evidence): GateResult {
  const actual = Object.prototype.hasOwnProperty.call(candidate.tags, key)
    ? candidate.tags[key]
    : null;
  const passed = actual === value;
  return {
    gate: `tag ${key}`,
    type: 'tag',
    passed,
    actual,
    expected: `= ${value}`,
    reason: passed
      ? `tag ${key} is '${value}'`
      : actual === null
        ? `version ${candidate.version} has no tag ${key} (needs '${value}')`
        : `tag ${key} is '${actual}', needs '${value}'`,
  };
}

/**
 * Every rule's verdict on `candidate`, in the policy's order: metric gates, no-regression rules
 * (unless `skipNoRegression`: a rollback goes back on purpose), required tags.
 */
export function evaluate(
  rules: EvaluationRules,
  candidate: Evidence,
  production: Evidence | null,
  options: { skipNoRegression?: boolean } = {},
): GateResult[] {
  const results: GateResult[] = rules.gates.map((g) => evaluateGate(g, candidate));
  if (options.skipNoRegression !== true) {
    for (const rule of rules.no_regression) {
      const result = evaluateNoRegression(rule, candidate, production);
      if (result !== null) results.push(result);
    }
  }
  for (const [key, value] of Object.entries(rules.required_tags)) {
    results.push(evaluateTag(key, value, candidate));
  }
  return results;
}

export function allPassed(results: readonly GateResult[]): boolean {
  return results.every((r) => r.passed);
}
