/** A split of a prepared store as the evaluation functions hold it: the manifest and the split's tensors. */
import { loadSplit, type Manifest, type SplitName } from '../data/store';
import type { Tensor } from '../tensor';

export interface EvalSplit {
  manifest: Manifest;
  images: Tensor;
  labels: Tensor;
  ids: Tensor;
}

export function loadEvalSplit(store: string, split: SplitName): Promise<EvalSplit> {
  return loadSplit(store, split);
}

export function disposeSplit(split: EvalSplit): void {
  for (const t of [split.images, split.labels, split.ids]) t.dispose();
}
