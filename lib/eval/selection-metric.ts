/**
 * The validation metric that chooses between models (fine-tuning checkpoints, probe sweep
 * points), computed natively: accuracy (multiclass, binary) or exact ROC AUC from average ranks
 * (binary: column 1; multilabel: macro over the labels with both classes present).
 */
import { native } from '../native';
import type { Tensor } from '../tensor';
import type { Task } from '../data/store';
import type { SelectionMetric } from './data';

export function selectionMetric(probabilities: Tensor, labels: Tensor, task: Task, metric: SelectionMetric): Promise<number> {
  return native().selectionMetric(probabilities, labels, task, metric);
}
