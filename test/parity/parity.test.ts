// Parity with the Python reference (scripts/reference/, Debian's PyTorch 1.13 on the CPU):
// 3 replayed steps from the same state on the same view pairs give the same loss components
// (relative error ≤ 1e-4) and the same final weights, queue and queue pointer (≤ 1e-3 relative
// to each tensor's scale; the pointer and step exactly). scripts/parity/run.js does the work.
import path from 'path';
import { runNode, repoRoot } from '../helpers/run';
import { findTorchPython } from '../helpers/python';

interface ParityResult {
  pass: boolean;
  worstLoss: number;
  worstWeight: { name: string; error: number };
  worstOptimizer: { name: string; error: number };
  report: { missing: string[]; extra: string[]; exact_mismatch: string[]; state_tensors: number; losses: Record<string, number> };
}

const cases: Array<[string, string[]]> = [
  // ResNet-18, small stem, 32×32: batch 8, K 20 (3 × 8 = 24 keys: the queue wraps mid-batch).
  ...(['mse', 'barlow', 'none'] as const).map((loss): [string, string[]] => [
    `resnet18 small stem 32×32, ${loss}`,
    ['--arch', 'resnet18', '--stem', 'small', '--size', '32', '--batch', '8', '--queue', '20', '--projector', '256', '--loss', loss],
  ]),
  // ResNet-50, standard stem, 64×64, the paper's 2048-wide projectors: batch 16, K 40. Not for
  // 'none': InfoNCE alone is the ResNet-18 case's and a component of these two (CI time).
  ...(['mse', 'barlow'] as const).map((loss): [string, string[]] => [
    `resnet50 standard stem 64×64, ${loss}`,
    ['--arch', 'resnet50', '--stem', 'standard', '--size', '64', '--batch', '16', '--queue', '40', '--projector', '2048', '--loss', loss],
  ]),
];

describe('parity with the Python reference', () => {
  beforeAll(() => {
    if (!findTorchPython()) {
      throw new Error('the parity tests need PyTorch for Python: run `sudo apt-get install python3-torch python3-torchvision` (npm test does it when run as root)');
    }
  });

  test.each(cases)('%s', async (_name, args) => {
    const r = await runNode([path.join(repoRoot, 'scripts/parity/run.js'), ...args, '--steps', '3', '--json'], { timeoutMs: 300000 });
    if (r.code !== 0 && !r.stdout.trim()) throw new Error(r.stderr);
    const result = JSON.parse(r.stdout.trim().split('\n').pop()!) as ParityResult;
    expect(result.report.missing).toEqual([]);
    expect(result.report.extra).toEqual([]);
    expect(result.report.exact_mismatch).toEqual([]); // queue_ptr, step, num_batches_tracked
    expect(result.report.state_tensors).toBeGreaterThan(100);
    expect(result.worstLoss).toBeLessThanOrEqual(1e-4);
    expect(result.worstWeight.error).toBeLessThanOrEqual(1e-3);
    expect(result.pass).toBe(true);
  }, 300000);
});
