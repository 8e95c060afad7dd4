// `prepare nih-cxr14`: a generated NIH ChestX-ray14 folder into a store — labels, patient-level
// splits, nested fractions, id → file mapping, skipped files, Python readability, determinism.
import { spawnSync } from 'child_process';
import { copyFileSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'fs';
import os from 'os';
import path from 'path';
import { prepareImages } from '../../lib/data/prepare-images';
import { kNihClasses } from '../../lib/data/importers/nih-cxr14';
import { loadSplit, readSamples, type SplitName } from '../../lib/data/store';
import { findTorchPython } from '../helpers/python';
import { repoRoot } from '../helpers/run';
import { nihFixture } from './fixtures';

const tmp = () => mkdtempSync(path.join(os.tmpdir(), 'imlm-nih-'));

let src: string;
let rows: Awaited<ReturnType<typeof nihFixture>>;
beforeAll(async () => {
  src = tmp();
  rows = await nihFixture(src, 20, 2); // 40 images of 20 patients
});

function labelsOf(findings: string): number[] {
  const set = new Set(findings.split('|'));
  return kNihClasses.map((c) => (set.has(c) ? 1 : 0));
}

describe('prepare nih-cxr14', () => {
  test('multilabel labels, patient-level 70/20/10 splits, nested fractions, and each row is its source image', async () => {
    const out = path.join(tmp(), 'store');
    const m = await prepareImages('nih-cxr14', src, out, { size: 16, seed: 5, fractions: [0.1, 0.5, 1], concurrency: 3 });
    expect(m).toMatchObject({ sourceFormat: 'nih-cxr14', task: 'multilabel', classes: kNihClasses, channels: 1, imageSize: [16, 16], seed: 5, skipped: [] });
    expect(m.splitMethod).toMatch(/patient-level/);
    // 20 patients cut 14/4/2, two images each.
    expect(m.splits).toEqual({
      train: { count: 28, shard: 'train.safetensors' },
      val: { count: 8, shard: 'val.safetensors' },
      test: { count: 4, shard: 'test.safetensors' },
    });
    const samples = await readSamples(out);
    expect(samples.files).toEqual(rows.map((r, i) => `${i % 2 ? 'images_002' : 'images_001'}/images/${r.name}`));
    const patientSplit = new Map<string, SplitName>();
    const seen: number[] = [];
    for (const split of ['train', 'val', 'test'] as const) {
      const { images, labels, ids, patients } = await loadSplit(out, split, { patients: true });
      const px = images.toTypedArray() as Uint8Array;
      const lab = labels.toTypedArray() as Uint8Array;
      const pat = patients!.toTypedArray() as BigInt64Array;
      expect(labels.shape).toEqual([m.splits[split]!.count, 14]);
      (ids.toTypedArray() as BigInt64Array).forEach((big, r) => {
        const id = Number(big);
        seen.push(id);
        // The row is the uniform source image (value 10 + 3·id), resized and centre-cropped.
        expect(new Set(px.subarray(r * 256, (r + 1) * 256))).toEqual(new Set([rows[id].value]));
        expect(Array.from(lab.subarray(r * 14, (r + 1) * 14))).toEqual(labelsOf(rows[id].findings));
        const patient = samples.patients[Number(pat[r])];
        expect(patient).toBe(rows[id].patient);
        // No patient in two splits.
        expect(patientSplit.get(patient) ?? split).toBe(split);
        patientSplit.set(patient, split);
      });
      for (const t of [images, labels, ids, patients!]) t.dispose();
    }
    expect(seen.sort((a, b) => a - b)).toEqual(rows.map((_, i) => i));
    // Fractions of the training split: seeded, stratified by label combination, nested.
    const f = m.labelFractions!;
    expect(f).toMatchObject({ seed: 5, nested: true, stratifiedBy: 'label combination' });
    expect(f.fractions['1']).toEqual({ count: 28 });
    const half = new Set(f.fractions['0.5'].ids);
    expect(f.fractions['0.1'].ids!.every((id) => half.has(id))).toBe(true);
    expect(f.fractions['0.1'].count).toBeLessThan(f.fractions['0.5'].count);
    expect(readdirSync(path.dirname(out))).toEqual(['store']); // no temporary folder left
  });

  test('the content hash does not depend on concurrency; the seed changes the split', async () => {
    const a = await prepareImages('nih-cxr14', src, path.join(tmp(), 'a'), { size: 8, concurrency: 1 });
    const b = await prepareImages('nih-cxr14', src, path.join(tmp(), 'b'), { size: 8, concurrency: 8 });
    const c = await prepareImages('nih-cxr14', src, path.join(tmp(), 'c'), { size: 8, concurrency: 4, seed: 1 });
    expect(a.contentHash).toBe(b.contentHash);
    expect(c.contentHash).not.toBe(a.contentHash);
  });

  test('a corrupt and a truncated image are skipped, counted and listed, within --max-skipped; beyond it prepare fails with the list', async () => {
    const dir = tmp();
    copyDir(src, dir);
    const corrupt = `images_001/images/${rows[0].name}`;
    const truncated = `images_002/images/${rows[3].name}`;
    writeFileSync(path.join(dir, corrupt), 'this is not a PNG');
    const whole = readFileSync(path.join(src, truncated));
    writeFileSync(path.join(dir, truncated), whole.subarray(0, whole.length - 30));
    const warnings: string[] = [];
    const store = path.join(tmp(), 's');
    const m = await prepareImages('nih-cxr14', dir, store, { size: 8, maxSkipped: 0.05, onWarning: (w) => warnings.push(w) });
    expect(m.skipped.map((s) => s.file)).toEqual([corrupt, truncated]);
    expect(m.skipped[0].reason).toMatch(/unsupported image format/);
    expect(m.skipped[1].reason).toMatch(/^cannot decode .*corrupt, truncated or not an image/);
    expect(warnings.filter((w) => w.startsWith('skipped '))).toHaveLength(2);
    const counts = Object.values(m.splits).reduce((s, e) => s + e!.count, 0);
    expect(counts).toBe(38);
    // Shards with gaps closed still load; every id but the skipped ones is there, with its pixels.
    const ids: number[] = [];
    for (const split of Object.keys(m.splits) as SplitName[]) {
      const { images, labels, ids: t, patients } = await loadSplit(store, split, { patients: true });
      const px = images.toTypedArray() as Uint8Array;
      (t.toTypedArray() as BigInt64Array).forEach((id, r) => {
        ids.push(Number(id));
        expect(px[r * 64 + 63]).toBe(rows[Number(id)].value);
      });
      for (const x of [images, labels, t, patients!]) x.dispose();
    }
    expect(ids.sort((x, y) => x - y)).toEqual(rows.map((_, i) => i).filter((i) => i !== 0 && i !== 3));
    // 2 of 40 = 5% > 1% (the default): refused, naming both files, and no store is left.
    const out = path.join(tmp(), 'refused');
    await expect(prepareImages('nih-cxr14', dir, out, { size: 8 })).rejects.toMatchObject({
      code: 'ERR_FORMAT',
      message: expect.stringMatching(new RegExp(`2 of 40 images \\(5\\.00%\\) could not be read, more than the allowed 1\\.00%[\\s\\S]*${corrupt}[\\s\\S]*${truncated}`)),
    });
    expect(readdirSync(path.dirname(out))).toEqual([]);
    // A failing prepare with overwrite leaves the store it would have replaced as it was.
    const before = readFileSync(path.join(store, 'manifest.json'), 'utf8');
    await expect(prepareImages('nih-cxr14', dir, store, { size: 8, overwrite: true })).rejects.toMatchObject({ code: 'ERR_FORMAT' });
    expect(readFileSync(path.join(store, 'manifest.json'), 'utf8')).toBe(before);
    expect(readdirSync(path.dirname(store))).toEqual(['s']);
  });

  test("the official test_list.txt / train_val_list.txt: 'test' as listed, the rest split into train/val by patient", async () => {
    const dir = tmp();
    copyDir(src, dir);
    // Patients 1–4 (images 0–7) are the official test set.
    writeFileSync(path.join(dir, 'test_list.txt'), rows.slice(0, 8).map((r) => r.name).join('\n') + '\n');
    writeFileSync(path.join(dir, 'train_val_list.txt'), rows.slice(8).map((r) => r.name).join('\n') + '\n');
    const warnings: string[] = [];
    const out = path.join(tmp(), 's');
    const m = await prepareImages('nih-cxr14', dir, out, { size: 4, onWarning: (w) => warnings.push(w) });
    expect(m.splitMethod).toMatch(/official test_list\.txt is 'test'.*train:val 0\.7:0\.2/);
    expect(warnings).toEqual([]);
    // 16 remaining patients: round(16 · 7/9) = 12 train, 4 val.
    expect(Object.fromEntries(Object.entries(m.splits).map(([k, v]) => [k, v!.count]))).toEqual({ train: 24, val: 8, test: 8 });
    const test = await loadSplit(out, 'test');
    expect(Array.from(test.ids.toTypedArray() as BigInt64Array, Number)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    for (const t of [test.images, test.labels, test.ids]) t.dispose();
  });

  test("the store's shards load in Python's safetensors-compatible reader", async () => {
    const py = findTorchPython();
    if (!py) throw new Error('this test needs PyTorch for Python: apt-get install python3-torch');
    const out = path.join(tmp(), 'store');
    await prepareImages('nih-cxr14', src, out, { size: 8, channels: 3 });
    const script = [
      'import sys, json',
      `sys.path.insert(0, ${JSON.stringify(path.join(repoRoot, 'scripts/reference'))})`,
      'import safetensors_io',
      `t, meta = safetensors_io.load(${JSON.stringify(path.join(out, 'val.safetensors'))})`,
      'print(json.dumps({k: [str(v.dtype), list(v.shape)] for k, v in t.items()} | {"split": meta["split"], "max": int(t["images"].max())}))',
    ].join('\n');
    const r = spawnSync(py.python, ['-c', script], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toEqual({
      images: ['torch.uint8', [8, 3, 8, 8]],
      labels: ['torch.uint8', [8, 14]],
      ids: ['torch.int64', [8]],
      patients: ['torch.int64', [8]],
      split: 'val',
      max: expect.any(Number),
    });
  });
});

function copyDir(from: string, to: string): void {
  for (const entry of readdirSync(from, { withFileTypes: true })) {
    const a = path.join(from, entry.name);
    const b = path.join(to, entry.name);
    if (entry.isDirectory()) {
      require('fs').mkdirSync(b, { recursive: true });
      copyDir(a, b);
    } else copyFileSync(a, b);
  }
}
