/**
 * The validation metric that chooses between models (fine-tuning checkpoints, probe sweep
 * points): which one a task uses, and computing it natively — accuracy (multiclass, binary) or
 * exact ROC AUC from average ranks (binary: column 1; multilabel: macro over the labels with both
 * classes present).
 */
import { ImlmError } from '../errors';
import { native } from '../native';
import type { Tensor } from '../tensor';
import type { Task } from '../data/store';

export type SelectionMetric = 'accuracy' | 'auc';

/** accuracy for multiclass and binary (as the reference's BCH), macro AUC for multilabel. */
export function defaultMetric(task: Task): SelectionMetric {
  return task === 'multilabel' ? 'auc' : 'accuracy';
}

export function checkMetric(task: Task, metric: SelectionMetric): SelectionMetric {
  if (task === 'multilabel' && metric !== 'auc') {
    throw new ImlmError(`Expected metric 'auc' for a multilabel store but received '${metric}'`, 'ERR_INVALID_ARG');
  }
  if (task === 'multiclass' && metric !== 'accuracy') {
    throw new ImlmError(`Expected metric 'accuracy' for a multiclass store but received '${metric}' (AUC is for binary and multilabel tasks)`, 'ERR_INVALID_ARG');
  }
  return metric;
}

export function selectionMetric(probabilities: Tensor, labels: Tensor, task: Task, metric: SelectionMetric): Promise<number> {
  return native().selectionMetric(probabilities, labels, task, metric);
}
