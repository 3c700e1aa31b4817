import { directionOf, MetricDirection } from './metric-direction';
import { recommend } from './recommendation';

describe('directionOf', () => {
  it.each([
    ['loss', MetricDirection.LowerIsBetter],
    ['log_loss', MetricDirection.LowerIsBetter],
    ['val_loss', MetricDirection.LowerIsBetter],
    ['mse', MetricDirection.LowerIsBetter],
    ['RMSE', MetricDirection.LowerIsBetter],
    ['test_rmse', MetricDirection.LowerIsBetter],
    ['mae', MetricDirection.LowerIsBetter],
    ['mape', MetricDirection.LowerIsBetter],
    ['error', MetricDirection.LowerIsBetter],
    ['train_error', MetricDirection.LowerIsBetter],
    ['train-error', MetricDirection.LowerIsBetter],
    ['f1_score', MetricDirection.HigherIsBetter],
    ['auc_roc', MetricDirection.HigherIsBetter],
    ['accuracy', MetricDirection.HigherIsBetter],
    ['precision', MetricDirection.HigherIsBetter],
    ['recall', MetricDirection.HigherIsBetter],
    ['loss_weight', MetricDirection.HigherIsBetter],
    ['errors_fixed_ratio', MetricDirection.HigherIsBetter],
  ])('%s is %s', (metric, direction) => {
    expect(directionOf(metric)).toBe(direction);
  });
});

describe('recommend', () => {
  it('reproduces the platform example: version 3 improves on every metric', () => {
    const r = recommend([
      { version: 2, metrics: { f1_score: 0.895, auc_roc: 0.96 } },
      { version: 3, metrics: { f1_score: 0.912, auc_roc: 0.97 } },
    ]);
    expect(r.recommended_version).toBe(3);
    expect(r.recommendation).toMatch(/^Version 3 shows improvement across all metrics: /);
    expect(r.recommendation).toContain('f1_score 0.912 vs 0.895 (+0.017, +1.9%)');
    expect(r.recommendation).toContain('auc_roc 0.97 vs 0.96 (+0.01, +1.0%)');
    expect(r.metrics).toEqual([
      { name: 'auc_roc', direction: 'higher_is_better', compared: true, best_versions: [3] },
      { name: 'f1_score', direction: 'higher_is_better', compared: true, best_versions: [3] },
    ]);
  });

  it('knows that a lower loss is better', () => {
    const r = recommend([
      { version: 1, metrics: { log_loss: 0.25, accuracy: 0.9 } },
      { version: 2, metrics: { log_loss: 0.21, accuracy: 0.91 } },
    ]);
    expect(r.recommended_version).toBe(2);
    expect(r.recommendation).toContain('log_loss 0.21 vs 0.25 (−0.04, −16.0%)');
  });

  it('says when the older version is the better one', () => {
    const r = recommend([
      { version: 4, metrics: { f1: 0.9 } },
      { version: 5, metrics: { f1: 0.8 } },
    ]);
    expect(r.recommended_version).toBe(4);
    expect(r.recommendation).toMatch(
      /^Version 4 outperforms version 5 on all metrics: f1 0.9 vs 0.8/,
    );
  });

  it('gives no winner on a trade-off, and says which metric favours which version', () => {
    const r = recommend([
      { version: 2, metrics: { f1_score: 0.895, val_loss: 0.2 } },
      { version: 3, metrics: { f1_score: 0.912, val_loss: 0.25 } },
    ]);
    expect(r.recommended_version).toBeNull();
    expect(r.recommendation).toBe(
      'No clear winner: f1_score favours version 3 (0.912 vs 0.895, +0.017, +1.9%); val_loss favours version 2 (0.2 vs 0.25, −0.05, −20.0%)',
    );
  });

  it('recommends a version that is better on some metrics and equal on the rest', () => {
    const r = recommend([
      { version: 1, metrics: { f1: 0.9, auc: 0.95 } },
      { version: 2, metrics: { f1: 0.92, auc: 0.95 } },
    ]);
    expect(r.recommended_version).toBe(2);
    expect(r.recommendation).toMatch(/^Version 2 is better on f1 and equal on auc: f1 0.92 vs 0.9/);
  });

  it('gives no winner when all compared metrics are equal', () => {
    const r = recommend([
      { version: 1, metrics: { f1: 0.9 } },
      { version: 2, metrics: { f1: 0.9 } },
    ]);
    expect(r.recommended_version).toBeNull();
    expect(r.recommendation).toBe(
      'No clear winner: versions 1 and 2 are equal on every compared metric (f1)',
    );
  });

  it('leaves out metrics some versions lack, and says so', () => {
    const r = recommend([
      { version: 1, metrics: { f1: 0.8, precision: 0.7 } },
      { version: 2, metrics: { f1: 0.85 } },
    ]);
    expect(r.recommended_version).toBe(2);
    expect(r.recommendation).toMatch(/\(not compared, missing from some versions: precision\)$/);
    expect(r.metrics.find((m) => m.name === 'precision')).toEqual({
      name: 'precision',
      direction: 'higher_is_better',
      compared: false,
      best_versions: [],
    });
  });

  it('gives no winner when the versions share no metric', () => {
    const r = recommend([
      { version: 1, metrics: { f1: 0.8 } },
      { version: 2, metrics: {} },
    ]);
    expect(r.recommended_version).toBeNull();
    expect(r.recommendation).toBe(
      'No clear winner: versions 1 and 2 have no metric in common to compare (not compared, missing from some versions: f1)',
    );
  });

  it('picks the best of several when one dominates, measuring against the best rival', () => {
    const r = recommend([
      { version: 1, metrics: { f1: 0.8, rmse: 3 } },
      { version: 2, metrics: { f1: 0.85, rmse: 2.5 } },
      { version: 3, metrics: { f1: 0.9, rmse: 2 } },
    ]);
    expect(r.recommended_version).toBe(3);
    expect(r.recommendation).toMatch(/^Version 3 is best on all metrics: /);
    expect(r.recommendation).toContain('f1 0.9 vs best other 0.85');
    expect(r.recommendation).toContain('rmse 2 vs best other 2.5');
  });

  it('names the leaders of each metric when several versions trade off', () => {
    const r = recommend([
      { version: 1, metrics: { f1: 0.9, rmse: 3 } },
      { version: 2, metrics: { f1: 0.85, rmse: 2 } },
      { version: 3, metrics: { f1: 0.9, rmse: 2.5 } },
    ]);
    expect(r.recommended_version).toBeNull();
    expect(r.recommendation).toBe(
      'No clear winner: f1 favours versions 1 and 3; rmse favours version 2',
    );
  });

  it.each([
    [1e308, -1e308, '+2e+308, +200.0%'],
    [Number.MAX_VALUE, -Number.MAX_VALUE, '+3.59539e+308, +200.0%'],
    [1e10, 5e-324, '+10000000000'],
  ])('never says Infinity or NaN: %d vs %d', (a, b, margin) => {
    const r = recommend([
      { version: 1, metrics: { f1_score: b } },
      { version: 2, metrics: { f1_score: a } },
    ]);
    expect(r.recommended_version).toBe(2);
    expect(r.recommendation).toContain(`(${margin})`);
    expect(r.recommendation).not.toMatch(/Infinity|NaN/);
  });

  describe('a version best on most metrics, without winning all', () => {
    const four = (a: number[], b: number[]) =>
      [a, b].map((m, i) => ({
        version: i + 1,
        metrics: { f1_score: m[0], auc_roc: m[1], precision: m[2], recall: m[3] },
      }));

    it('is recommended when it alone wins a majority, naming what it loses', () => {
      const r = recommend(four([0.8, 0.9, 0.7, 0.85], [0.85, 0.92, 0.75, 0.8]));
      expect(r.recommended_version).toBe(2);
      expect(r.recommendation).toBe(
        'Version 2 is better on 3 of 4 metrics: auc_roc 0.92 vs 0.9 (+0.02, +2.2%); f1_score 0.85 vs 0.8 (+0.05, +6.2%); precision 0.75 vs 0.7 (+0.05, +7.1%); worse on recall 0.8 vs 0.85 (−0.05, −5.9%)',
      );
    });

    it('is not, on a two-two split: no clear winner, as before', () => {
      const r = recommend(four([0.8, 0.9, 0.8, 0.85], [0.85, 0.92, 0.75, 0.8]));
      expect(r.recommended_version).toBeNull();
      expect(r.recommendation).toMatch(/^No clear winner: /);
    });
  });

  describe('with a primary metric', () => {
    const two = [
      { version: 1, metrics: { f1_score: 0.9, auc_roc: 0.95, log_loss: 0.3 } },
      { version: 2, metrics: { f1_score: 0.91, auc_roc: 0.93, log_loss: 0.35 } },
    ];

    it('recommends the version best on it, saying how the others moved', () => {
      const r = recommend(two, { primaryMetric: 'f1_score' });
      expect(r.recommended_version).toBe(2);
      expect(r.recommendation).toBe(
        'Version 2 is best on f1_score, the primary metric: f1_score 0.91 vs 0.9 (+0.01, +1.1%); the others: auc_roc worse: 0.93 vs 0.95 (−0.02, −2.1%); log_loss worse: 0.35 vs 0.3 (+0.05, +16.7%)',
      );
      // Without it, the same pair is a majority for version 1.
      expect(recommend(two).recommended_version).toBe(1);
    });

    it('gives no winner on a tie of the primary metric', () => {
      const r = recommend(
        [
          { version: 1, metrics: { f1_score: 0.9, auc_roc: 0.9 } },
          { version: 2, metrics: { f1_score: 0.9, auc_roc: 0.8 } },
        ],
        { primaryMetric: 'f1_score' },
      );
      expect(r).toMatchObject({
        recommended_version: null,
        recommendation:
          'No clear winner: versions 1 and 2 tie on f1_score, the primary metric (0.9)',
      });
    });

    it('refuses a metric the versions do not all have, naming primary_metric', () => {
      expect(() => recommend(two, { primaryMetric: 'recall' })).toThrow(
        "primary_metric: 'recall' is not a metric of the compared versions (they have auc_roc, f1_score and log_loss)",
      );
      expect(() =>
        recommend(
          [
            { version: 1, metrics: { f1_score: 0.9, recall: 0.5 } },
            { version: 2, metrics: { f1_score: 0.8 } },
          ],
          { primaryMetric: 'recall' },
        ),
      ).toThrow("primary_metric: 'recall' is missing from version 2, so it cannot decide");
    });
  });

  it('handles a zero baseline without dividing by it', () => {
    const r = recommend([
      { version: 1, metrics: { error: 0.1 } },
      { version: 2, metrics: { error: 0 } },
    ]);
    expect(r.recommendation).toBe(
      'Version 2 shows improvement across all metrics: error 0 vs 0.1 (−0.1, −100.0%)',
    );
  });
});
