/** Augmenting a batch with a policy, for inspection and tests (training sources do it natively). */
import { native, type NativeTensor } from '../native';
import { resolvePolicy, type PolicyFields } from './policies';

export interface AugmentedBatch {
  /** [N, C, size, size] float32 in [0, 1]. */
  images: NativeTensor;
  /** Per-sample parameters drawn (float64 [N] each), named by the ops that draw them (native augmentOps()): cropScale, cropRatio, hflip, vflip, angle, jitter, brightness, contrast, saturation, hue, grayscale, blurSigma. */
  params: Record<string, NativeTensor>;
}

export function augmentBatch(images: NativeTensor, policy: string | PolicyFields, outputSize: number, seed = 0): Promise<AugmentedBatch> {
  return native().augmentBatch(images, resolvePolicy(policy), outputSize, seed);
}
