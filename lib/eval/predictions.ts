/** The predictions file (test outputs of a probe or a fine-tuned network), written atomically. */
import type { Manifest } from '../data/store';
import type { Tensor } from '../tensor';
import { writeSafetensors } from '../safetensors';

export interface PredictionsInput {
  ids: Tensor;
  labels: Tensor;
  /** F32 [N, K]: softmax (multiclass, binary; positive = column 1) or sigmoid per label (multilabel). */
  probabilities: Tensor;
  manifest: Manifest;
  /** What produced them, in words (checkpoint, block, sweep point). */
  model: string;
}

export function writePredictions(file: string, p: PredictionsInput): Promise<void> {
  return writeSafetensors(
    file,
    { ids: p.ids, labels: p.labels, probabilities: p.probabilities },
    {
      format: 'imlm-native/predictions',
      format_version: '1',
      task: p.manifest.task,
      classes: JSON.stringify(p.manifest.classes),
      model: p.model,
      created: new Date().toISOString(),
    },
  );
}
