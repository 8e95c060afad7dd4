// Layer-wise probing: one linear probe per block on the same cached features.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'fs';
import os from 'os';
import path from 'path';
import { layerwiseProbe, linearProbe } from '../../lib';
import { writeCheckpoints, writeSyntheticStore } from './fixtures';

describe('layerwiseProbe', () => {
  test('returns one result per block, each chosen on validation, with its own predictions file', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'imlm-probe-'));
    try {
      const store = path.join(dir, 'store');
      await writeSyntheticStore(store, { size: 16 });
      const { state } = await writeCheckpoints(dir);
      const outDir = path.join(dir, 'run');
      const r = await layerwiseProbe({ checkpoint: state, store, outDir, device: 'cpu', imageSize: 16, fraction: 0.5 });
      expect(r.kind).toBe('probe');
      expect(r.blocks.map((b) => b.block)).toEqual([1, 2, 3, 4]);
      expect(r.blocks.map((b) => b.featureDim)).toEqual([64, 128, 256, 512]);
      for (const b of r.blocks) {
        expect(b.chosen.valMetric).toBe(Math.max(...b.sweep.map((s) => s.valMetric)));
        expect(b.chosen.valMetric).toBeGreaterThan(0.8);
        expect(b.predictions).toBe(path.join(outDir, `predictions-test-block${b.block}.safetensors`));
        expect(existsSync(b.predictions)).toBe(true);
      }
      expect(JSON.parse(readFileSync(path.join(outDir, 'results.json'), 'utf8')).blocks).toHaveLength(4);
      // Block 4 of the layer-wise probe is the linear probe (same features, same sweep, same choice).
      const linear = await linearProbe({ checkpoint: state, store, outDir, device: 'cpu', imageSize: 16, fraction: 0.5 });
      expect(linear.featuresCached).toEqual({ train: true, val: true, test: true });
      expect(linear.blocks[0].sweep.map((s) => s.valMetric)).toEqual(r.blocks[3].sweep.map((s) => s.valMetric));
      // A subset of blocks.
      const two = await layerwiseProbe({ checkpoint: state, store, outDir: path.join(dir, 'two'), device: 'cpu', imageSize: 16, blocks: [2, 3] });
      expect(two.blocks.map((b) => b.block)).toEqual([2, 3]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
