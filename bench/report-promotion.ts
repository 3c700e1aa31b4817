import type { PromotionRun } from './sections/governance';
import { Goal, table } from './lib/markdown';

const where = (p: PromotionRun): string =>
  p.store === 'files'
    ? 'embedded default (files)'
    : `MLflow + ${p.store === 's3' ? 'S3' : 'Azure'}`;

/** Section 6's goal: the final vote's verify streams the model file (bounded memory). */
export function promotionGoals(runs: PromotionRun[] | undefined): Goal[] {
  return (runs ?? []).map((p) => ({
    goal: `8. promotion of a ${p.sizeMiB} MiB model, ${where(p)}: final vote (verify included) RSS growth < 64 MiB`,
    figure: `${p.finalVoteRssGrowthMiB} MiB (vote ${p.steps.finalVote} ms)`,
    met: p.finalVoteRssGrowthMiB < 64,
  }));
}

export function promotionPart(runs: PromotionRun[]): string {
  const size = runs[0]?.sizeMiB ?? '?';
  const steps: [string, (p: PromotionRun) => number | string][] = [
    ['upload (POST /artifacts)', (p) => p.steps.upload],
    ['register (POST /models)', (p) => p.steps.register],
    ['request production (202, gates evaluated, digest recorded)', (p) => p.steps.request],
    ['vote 1 of 2 (rules re-evaluated; pending)', (p) => p.steps.firstVote],
    [
      '**vote 2 of 2: model re-read + SHA-256 verified, transition applied**',
      (p) => `**${p.steps.finalVote}**`,
    ],
    ['total (policy set once before, not included)', (p) => total(p)],
  ];
  return `## 8. Production promotion with a verified ${size} MiB model

Governance issue: a tenant production policy \`{"required_approvals": 2, "gates": [{"metric": "accuracy",
"op": ">=", "value": 0.8}], "no_regression": [{"metric": "accuracy", "tolerance": 0.01}]}\` (PUT
\`/policies/production\`), then a model of ${size} MiB random bytes uploaded, registered, requested for
production (\`POST .../versions/1/stage\`, 202) and approved by two approvers
(\`POST /approvals/:id/approve\`). The second vote completes the quorum: the service re-reads the stored
model file (streamed) and checks its SHA-256 against the digest recorded at request time, then applies
the transition; its answer says \`approved\`, \`apply_state: applied\`, stage \`production\` (the bench
fails otherwise). Each step is one request, timed by the bench; one run per store, so a figure moves
by what else the machine does. Just before, the same promotion of a 64 KiB model twice (the
first warms up every route, the second is the baseline): **verify** is the final vote's time
minus the baseline's, i.e. the re-read and hash of the ${size} MiB file. For comparison: the same file downloaded through the service (GET), and
SHA-256 of it in the bench process (hashing alone on this machine).

${table(
  ['step (ms)', ...runs.map(where)],
  steps.map(([label, of]) => [label, ...runs.map(of)]),
)}

${table(
  [
    'store',
    'policy PUT ms',
    'baseline final vote ms (64 KiB)',
    'verify ms',
    'verify MiB/s',
    'download MiB/s',
    'SHA-256 alone MiB/s',
    'RSS peak / growth over the final vote MiB',
  ],
  runs.map((p) => [
    where(p),
    p.policyMs,
    p.baseline.finalVote,
    p.verifyMs,
    Number.isFinite(p.verifyMiBs) ? p.verifyMiBs : '(below noise)',
    p.downloadMiBs,
    p.sha256MiBs,
    `${p.finalVoteRssPeakMiB} / ${p.finalVoteRssGrowthMiB}`,
  ]),
)}
`;
}

function total(p: PromotionRun): number {
  const s = p.steps;
  return Math.round((s.upload + s.register + s.request + s.firstVote + s.finalVote) * 100) / 100;
}
