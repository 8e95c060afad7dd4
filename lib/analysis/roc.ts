/** ROC curve points of a predictions file, for plots (core/analysis/roc_curve.h). */
import { ImlmError } from '../errors';
import { native } from '../native';
import type { Tensor } from '../tensor';
import { readPredictions, type Task } from './files';

export interface RocCurvePoints {
  fpr: number[];
  tpr: number[];
  /** 'class 1' (binary) or 'micro-average' (multiclass, multilabel). */
  of: string;
}

/** The curve of probabilities [N, K] against labels, at most `maxPoints` points (default 200). */
export async function rocCurveOfTensors(probabilities: Tensor, labels: Tensor, task: Task, maxPoints = 200): Promise<RocCurvePoints> {
  const r = await native().analysisRocCurve(probabilities, labels, { task, maxPoints });
  return { fpr: Array.from(r.fpr), tpr: Array.from(r.tpr), of: r.of };
}

export async function rocCurve(predictions: string, maxPoints = 200): Promise<RocCurvePoints> {
  const file = await readPredictions(predictions);
  try {
    if (!file.labels) throw new ImlmError(`${predictions} holds no 'labels'; an ROC curve needs them`, 'ERR_INVALID_ARG');
    return await rocCurveOfTensors(file.probabilities, file.labels, file.task, maxPoints);
  } finally {
    file.dispose();
  }
}
