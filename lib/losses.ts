/**
 * The method's loss functions on tensors, as pure functions (native/core/losses): for tests and
 * for users who compose their own methods. Each runs on a worker thread.
 */
import { native, type NativeTensor } from './native';

/**
 * InfoNCE. q, k: [N, D] L2-normalised; queue: [D, K]. logits = [Σ(q·k), q·queue] / T;
 * loss = mean cross-entropy with target 0. Resolves to the loss and the logits [N, 1 + K].
 */
export function infoNce(q: NativeTensor, k: NativeTensor, queue: NativeTensor, temperature: number) {
  return native().lossInfoNce(q, k, queue, temperature);
}

/** weight · mean((pool(q) − pool(k))²), pool = adaptive average pooling to poolSize². q, k: [N, C, H, W]. */
export async function layerMse(q: NativeTensor, k: NativeTensor, poolSize: number, weight = 1): Promise<number> {
  return (await native().lossLayerMse(q, k, poolSize, weight)).loss;
}

/**
 * Barlow Twins on batch-normalised projections z1, z2 [N, H]: c = z1ᵀz2 / N;
 * on = Σ(c_jj − 1)²·scale, off = Σ_{j≠l} c_jl²·scale; kaku2021: λ·on + λ·off, original: on + λ·off.
 */
export async function barlowTwins(
  z1: NativeTensor,
  z2: NativeTensor,
  options: { lambda: number; scale?: number; weighting?: 'kaku2021' | 'original' },
): Promise<number> {
  return (await native().lossBarlowTwins(z1, z2, options.lambda, options.scale ?? 1, options.weighting ?? 'kaku2021')).loss;
}
