export enum MetricDirection {
  HigherIsBetter = 'higher_is_better',
  LowerIsBetter = 'lower_is_better',
}

/** Metric names (or their last word) for which a lower value is better. */
const LOWER_IS_BETTER = new Set(['loss', 'mse', 'rmse', 'mae', 'mape', 'error']);

/**
 * Lower is better for loss, log_loss, mse, rmse, mae, mape, error and names ending in one of
 * those words (`val_loss`, `test_rmse`, `train-error`); higher for the rest (f1, auc, accuracy,
 * precision, recall, ...).
 */
export function directionOf(metric: string): MetricDirection {
  const words = metric
    .toLowerCase()
    .split(/[_\-./ ]+/)
    .filter((w) => w.length > 0);
  const last = words[words.length - 1] ?? '';
  return LOWER_IS_BETTER.has(last) ? MetricDirection.LowerIsBetter : MetricDirection.HigherIsBetter;
}
