// The importers other than NIH: EyePACS, IDC (with the paper's split lists), class folders, CSV,
// unlabeled folders and DICOM folders — each from a generated fixture in its real layout.
import { mkdirSync, mkdtempSync, writeFileSync } from 'fs';
import os from 'os';
import path from 'path';
import { prepareImages } from '../../lib/data/prepare-images';
import { kDrGrades } from '../../lib/data/importers/eyepacs-dr';
import { loadSplit, readSamples, type SplitName } from '../../lib/data/store';
import { runCli } from '../helpers/run';
import { dicomFile, png16, uniformImage } from './fixtures';

const tmp = () => mkdtempSync(path.join(os.tmpdir(), 'imlm-imp-'));

/** Every split's (id, label, patient name, first pixel) rows. */
async function contents(store: string) {
  const samples = await readSamples(store);
  const out: Array<{ split: SplitName; id: number; label: number; patient: string; pixel: number }> = [];
  for (const split of ['train', 'val', 'test'] as const) {
    const loaded = await loadSplit(store, split, { patients: true }).catch(() => null);
    if (!loaded) continue;
    const { images, labels, ids, patients } = loaded;
    const px = images.toTypedArray() as Uint8Array;
    const rowBytes = px.length / Math.max(1, ids.shape[0]);
    const lab = labels.toTypedArray() as BigInt64Array;
    const pat = patients!.toTypedArray() as BigInt64Array;
    (ids.toTypedArray() as BigInt64Array).forEach((id, r) => {
      out.push({ split, id: Number(id), label: Number(lab[r]), patient: samples.patients[Number(pat[r])], pixel: px[r * rowBytes] });
    });
    for (const t of [images, labels, ids, patients!]) t.dispose();
  }
  return { samples, rows: out };
}

function expectNoPatientInTwoSplits(rows: Array<{ split: SplitName; patient: string }>): void {
  const where = new Map<string, SplitName>();
  for (const r of rows) {
    expect(where.get(r.patient) ?? r.split).toBe(r.split);
    where.set(r.patient, r.split);
  }
}

describe('prepare eyepacs-dr', () => {
  const src = tmp();
  const levels = [0, 1, 2, 3, 4, 0, 0, 2, 1, 4, 0, 3, 2, 0, 1, 0, 0, 2, 4, 1];
  beforeAll(async () => {
    const names = levels.map((_, i) => `${Math.floor(i / 2) + 10}_${i % 2 ? 'right' : 'left'}`);
    writeFileSync(path.join(src, 'trainLabels.csv'), ['image,level', ...names.map((n, i) => `${n},${levels[i]}`)].join('\r\n') + '\r\n');
    await Promise.all(names.map((n, i) => uniformImage(path.join(src, 'train', `${n}.jpeg`), 24, 20, 3, [20 + 10 * i, 0, 0])));
  });

  test('referable (grade ≥ 2) by default; both eyes of a patient in one split; RGB rows', async () => {
    const out = path.join(tmp(), 's');
    const m = await prepareImages('eyepacs-dr', src, out, { size: 8 });
    expect(m).toMatchObject({ task: 'binary', channels: 3, classes: ['non-referable (grade 0-1)', 'referable (grade 2-4)'] });
    expect(m.preparation).toMatchObject({ drLabels: 'referable' });
    const { rows, samples } = await contents(out);
    expect(rows).toHaveLength(20);
    for (const r of rows) {
      expect(r.label).toBe(levels[r.id] >= 2 ? 1 : 0);
      expect(r.patient).toBe(String(Math.floor(r.id / 2) + 10));
      expect(Math.abs(r.pixel - (20 + 10 * r.id))).toBeLessThanOrEqual(2); // JPEG red channel
      expect(samples.files[r.id]).toBe(`train/${r.patient}_${r.id % 2 ? 'right' : 'left'}.jpeg`);
    }
    expectNoPatientInTwoSplits(rows);
  });

  test('--dr-labels grades: five classes', async () => {
    const out = path.join(tmp(), 'g');
    const m = await prepareImages('eyepacs-dr', src, out, { size: 4, drLabels: 'grades', channels: 1 });
    expect(m).toMatchObject({ task: 'multiclass', classes: kDrGrades, channels: 1 });
    const { rows } = await contents(out);
    for (const r of rows) expect(r.label).toBe(levels[r.id]);
  });

  test('a level outside 0–4 and a listed image that is absent are errors naming file and line', async () => {
    const bad = tmp();
    writeFileSync(path.join(bad, 'trainLabels.csv'), 'image,level\n10_left,0\n10_right,7\n');
    await uniformImage(path.join(bad, '10_left.jpeg'), 4, 4, 3, 9);
    await uniformImage(path.join(bad, '10_right.jpeg'), 4, 4, 3, 9);
    await expect(prepareImages('eyepacs-dr', bad, path.join(tmp(), 'x'))).rejects.toMatchObject({
      code: 'ERR_FORMAT',
      message: `${path.join(bad, 'trainLabels.csv')}: line 3: 'level' is '7' (expected an integer grade 0-4)`,
    });
    // A name in two folders is fine until the CSV asks for it.
    writeFileSync(path.join(bad, 'trainLabels.csv'), 'image,level\n10_left,0\n');
    await uniformImage(path.join(bad, 'test', '10_right.jpeg'), 4, 4, 3, 9);
    await expect(prepareImages('eyepacs-dr', bad, path.join(tmp(), 'x'), { size: 4 })).resolves.toMatchObject({ task: 'binary' });
    writeFileSync(path.join(bad, 'trainLabels.csv'), 'image,level\n10_left,0\n10_right,1\n');
    await expect(prepareImages('eyepacs-dr', bad, path.join(tmp(), 'x'))).rejects.toMatchObject({
      code: 'ERR_FORMAT',
      message: `${path.join(bad, 'trainLabels.csv')}: line 3: the image '10_right' is found 2 times (10_right.jpeg, test/10_right.jpeg); expected it once — remove the duplicate folder`,
    });
    writeFileSync(path.join(bad, 'trainLabels.csv'), 'image,level\n10_left,0\n11_left,1\n');
    await expect(prepareImages('eyepacs-dr', bad, path.join(tmp(), 'x'))).rejects.toMatchObject({
      code: 'ERR_FORMAT',
      message: expect.stringMatching(/trainLabels\.csv: line 3: the image '11_left' \(\.jpeg\) is not in .* or any sub-folder/),
    });
  });
});

describe('prepare bch-idc', () => {
  const src = tmp();
  const patients = ['8863', '8864', '8865', '8866', '8867', '8868'];
  const files: string[] = [];
  beforeAll(async () => {
    const jobs: Array<Promise<void>> = [];
    patients.forEach((p, pi) => {
      for (const cls of [0, 1]) {
        for (let k = 0; k < 3; k++) {
          const file = `${p}/${cls}/${p}_idx5_x${k * 50}_y${pi * 50}_class${cls}.png`;
          files.push(file);
          jobs.push(uniformImage(path.join(src, 'IDC_regular_ps50_idx5', file), 10, 10, 3, [100 + cls * 50, 80, 120]));
        }
      }
    });
    await Promise.all(jobs);
  });

  test('seeded patient-level split by default; labels from the class folder', async () => {
    const out = path.join(tmp(), 's');
    const m = await prepareImages('bch-idc', src, out, { size: 8, seed: 2 });
    expect(m).toMatchObject({ task: 'binary', channels: 3 });
    const { rows, samples } = await contents(out);
    expect(rows).toHaveLength(36);
    for (const r of rows) {
      expect(samples.files[r.id].split('/')[1]).toBe(r.patient);
      expect(r.label).toBe(Number(samples.files[r.id].split('/')[2]));
      expect(r.pixel).toBe(100 + 50 * r.label);
    }
    expectNoPatientInTwoSplits(rows);
  });

  test("--split-list with the paper's CSV format: listed images go to their split, the rest is excluded and counted (or train with --unlisted train)", async () => {
    const lists = tmp();
    const rowsOf = (ps: string[]) => ['img_path,labels', ...files.filter((f) => ps.includes(f.split('/')[0])).map((f) => `${f},${f.split('/')[1]}`)].join('\n') + '\n';
    writeFileSync(path.join(lists, 'val_split.csv'), rowsOf(['8864']));
    writeFileSync(path.join(lists, 'test_split.csv'), rowsOf(['8865', '8866']));
    const out = path.join(tmp(), 's');
    const warnings: string[] = [];
    const m = await prepareImages('bch-idc', src, out, {
      size: 4,
      splitLists: [{ file: path.join(lists, 'val_split.csv') }, { split: 'test', file: path.join(lists, 'test_split.csv') }],
      onWarning: (w) => warnings.push(w),
    });
    expect(Object.fromEntries(Object.entries(m.splits).map(([k, v]) => [k, v!.count]))).toEqual({ val: 6, test: 12 });
    expect(m.excluded).toMatchObject({ count: 18, reason: 'in no --split-list' });
    expect(m.splitMethod).toMatch(/split lists val=.*val_split\.csv, test=.*test_split\.csv; images in no list are excluded/);
    expect(m.preparation.splitLists).toEqual([
      expect.objectContaining({ split: 'val', rows: 6, matched: 6, notInSource: 0, labelMismatches: 0 }),
      expect.objectContaining({ split: 'test', rows: 12, matched: 12, notInSource: 0, labelMismatches: 0 }),
    ]);
    expect(warnings).toEqual([]);
    const { rows } = await contents(out);
    expect(new Set(rows.filter((r) => r.split === 'test').map((r) => r.patient))).toEqual(new Set(['8865', '8866']));
    const withTrain = await prepareImages('bch-idc', src, path.join(tmp(), 't'), {
      size: 4,
      unlisted: 'train',
      splitLists: [{ file: path.join(lists, 'val_split.csv') }, { file: path.join(lists, 'test_split.csv') }],
    });
    expect(withTrain.splits.train!.count).toBe(18);
    expect(withTrain.excluded).toBeUndefined();
  });

  test('a png outside <patient>/<0|1>/ is an error naming it', async () => {
    const bad = tmp();
    await uniformImage(path.join(bad, '9000', '2', 'x.png'), 4, 4, 3, 1);
    await expect(prepareImages('bch-idc', bad, path.join(tmp(), 'x'))).rejects.toMatchObject({
      code: 'ERR_FORMAT',
      message: `${bad}: '9000/2/x.png' is not in the IDC layout (expected <patient>/<0|1>/<patch>.png)`,
    });
  });
});

describe('prepare folder / csv / unlabeled', () => {
  test("folder: one sub-folder per class; train/val/test folders are the source's own division", async () => {
    const src = tmp();
    const jobs: Array<Promise<void>> = [];
    for (const split of ['train', 'val', 'test']) for (const [k, cls] of ['cat', 'dog', 'eel'].entries()) for (let i = 0; i < 2; i++) jobs.push(uniformImage(path.join(src, split, cls, `${i}.png`), 6, 6, 1, 50 * k + 10));
    await Promise.all(jobs);
    const out = path.join(tmp(), 's');
    const m = await prepareImages('folder', src, out, { size: 4, channels: 1 });
    expect(m).toMatchObject({ task: 'multiclass', classes: ['cat', 'dog', 'eel'], splitMethod: "the source's own division: the source's test/train/val folders" });
    const { rows, samples } = await contents(out);
    for (const r of rows) {
      expect(samples.files[r.id].split('/')[0]).toBe(r.split);
      expect(r.pixel).toBe(50 * r.label + 10);
    }
    expect(m.labelFractions!.fractions['0.01'].count).toBe(3); // at least one per class
  });

  test('csv: path and label columns by name, patient and split columns; bad rows are errors naming file, line and what was expected', async () => {
    const dir = tmp();
    await Promise.all([0, 1, 2, 3, 4, 5].map((i) => uniformImage(path.join(dir, 'img', `${i}.png`), 5, 5, 1, 30 * i)));
    const csv = path.join(dir, 'labels.csv');
    writeFileSync(csv, 'file,diagnosis,pid,fold\nimg/0.png,benign,a,train\nimg/1.png,malignant,a,train\n"img/2.png",benign,b,val\nimg/3.png,malignant,c,test\nimg/4.png,benign,d,train\nimg/5.png,malignant,d,train\n');
    const out = path.join(tmp(), 's');
    const m = await prepareImages('csv', csv, out, { size: 4, pathColumn: 'file', labelColumn: 'diagnosis', patientColumn: 'pid', splitColumn: 'fold', channels: 1 });
    expect(m).toMatchObject({ task: 'binary', classes: ['benign', 'malignant'] });
    expect(Object.fromEntries(Object.entries(m.splits).map(([k, v]) => [k, v!.count]))).toEqual({ train: 4, val: 1, test: 1 });
    const { rows } = await contents(out);
    expect(rows.map((r) => [r.id, r.label, r.patient, r.pixel]).sort((a, b) => (a[0] as number) - (b[0] as number))).toEqual([
      [0, 0, 'a', 0], [1, 1, 'a', 30], [2, 0, 'b', 60], [3, 1, 'c', 90], [4, 0, 'd', 120], [5, 1, 'd', 150],
    ]);
    // Multilabel columns.
    const multi = path.join(dir, 'multi.csv');
    writeFileSync(multi, 'path,a,b\nimg/0.png,1,0\nimg/1.png,1,1\nimg/2.png,0,0\n');
    await expect(prepareImages('csv', multi, path.join(tmp(), 'm'), { size: 4, labelColumns: ['a', 'b'] })).resolves.toMatchObject({ task: 'multilabel', classes: ['a', 'b'] });

    const x = () => path.join(tmp(), 'x');
    writeFileSync(csv, 'file,label\nimg/0.png,benign\n');
    await expect(prepareImages('csv', csv, x(), { labelColumn: 'diagnosis', pathColumn: 'file' })).rejects.toMatchObject({
      code: 'ERR_FORMAT',
      message: `${csv}: line 1: the header lacks the column(s) 'diagnosis' (expected 'file', 'diagnosis'; found 'file', 'label')`,
    });
    writeFileSync(csv, 'path,label\nimg/0.png,benign\nimg/1.png,malign\n');
    await expect(prepareImages('csv', csv, x(), { classes: ['benign', 'malignant'] })).rejects.toMatchObject({
      code: 'ERR_FORMAT',
      message: `${csv}: line 3: 'label' is 'malign', which is not a class (expected one of benign, malignant)`,
    });
    writeFileSync(csv, 'path,label\nimg/0.png,0\nimg/9.png,1\n');
    await expect(prepareImages('csv', csv, x())).rejects.toMatchObject({
      code: 'ERR_FORMAT',
      message: `${csv}: line 3: the image 'img/9.png' does not exist (expected ${path.join(dir, 'img/9.png')})`,
    });
    writeFileSync(csv, 'path,label\nimg/0.png,0,extra\n');
    await expect(prepareImages('csv', csv, x())).rejects.toMatchObject({ code: 'ERR_FORMAT', message: `${csv}: line 2: expected 2 fields (path, label) but found 3` });
  });

  test('unlabeled: task none, labels −1, everything in train; `train --data` runs on it', async () => {
    const src = tmp();
    await Promise.all(Array.from({ length: 10 }, (_, i) => uniformImage(path.join(src, i < 5 ? 'a' : 'a/b', `${i}.jpg`), 20, 20, 1, 10 * i)));
    writeFileSync(path.join(src, 'notes.txt'), 'not an image');
    const out = path.join(tmp(), 's');
    const m = await prepareImages('unlabeled', src, out, { size: 16, channels: 1 });
    expect(m).toMatchObject({ task: 'none', classes: [], splits: { train: { count: 10, shard: 'train.safetensors' } } });
    expect(m.labelFractions).toBeUndefined();
    const { rows } = await contents(out);
    expect(rows.every((r) => r.label === -1 && r.split === 'train')).toBe(true);
    const run = await runCli(['train', '--data', out, '--arch', 'resnet18', '--stem', 'small', '--image-size', '16', '--batch-size', '4', '--queue-size', '8', '--device', 'cpu', '--steps', '1', '--out', path.join(tmp(), 'run'), '--json']);
    expect(run.stderr).toMatch(/training on .* \(train split, 10 images\)/);
    expect(run.code).toBe(0);
  });
});

describe('prepare dicom', () => {
  test('a folder of DICOM files with a label CSV: MONOCHROME1 inverted, rescale/window applied, a compressed file skipped with its reason', async () => {
    const src = tmp();
    const specs = [
      { name: 'a.dcm', label: 'normal', patient: 'p1', spec: { rows: 4, columns: 4, values: new Array(16).fill(0).map((_, i) => (i < 8 ? 0 : 1000)) } },
      { name: 'b.dcm', label: 'abnormal', patient: 'p1', spec: { rows: 4, columns: 4, values: new Array(16).fill(0).map((_, i) => (i < 8 ? 0 : 1000)), photometric: 'MONOCHROME1' as const } },
      { name: 'sub/c.dcm', label: 'normal', patient: 'p2', spec: { rows: 4, columns: 4, values: new Array(16).fill(-5), signed: true, slope: 2, intercept: 10, windowCentre: 0.5, windowWidth: 3 } },
      { name: 'd.dcm', label: 'abnormal', patient: 'p3', spec: { rows: 4, columns: 4, values: new Array(16).fill(1), transferSyntax: '1.2.840.10008.1.2.4.90' } },
    ];
    mkdirSync(path.join(src, 'sub'));
    for (const s of specs) writeFileSync(path.join(src, s.name), dicomFile(s.spec));
    const labels = path.join(src, 'labels.csv');
    writeFileSync(labels, ['path,label,patient', ...specs.map((s) => `${s.name},${s.label},${s.patient}`)].join('\n'));
    const out = path.join(tmp(), 's');
    const m = await prepareImages('dicom', src, out, { size: 4, labelsFile: labels, patientColumn: 'patient', classes: ['normal', 'abnormal'], shares: { train: 1, val: 0, test: 0 }, maxSkipped: 0.5 });
    expect(m).toMatchObject({ sourceFormat: 'dicom', task: 'binary', channels: 1, classes: ['normal', 'abnormal'] });
    expect(m.skipped).toEqual([{ file: 'd.dcm', reason: expect.stringMatching(/^transfer syntax 1\.2\.840\.10008\.1\.2\.4\.90 is compressed/) }]);
    const { images, ids } = await loadSplit(out, 'train');
    const px = images.toTypedArray() as Uint8Array;
    expect(Array.from(ids.toTypedArray() as BigInt64Array, Number)).toEqual([0, 1, 2]);
    expect([px[0], px[15]]).toEqual([0, 255]); // MONOCHROME2: top black, bottom white
    expect([px[16], px[31]]).toEqual([255, 0]); // MONOCHROME1: inverted
    expect(px[32]).toBe(128); // stored −5 → −5·2 + 10 = 0, the middle of the window (centre 0.5, width 3: −1..1)
    images.dispose();
    ids.dispose();
  });
});

test('png16 helper writes a 16-bit PNG', () => {
  expect(png16(1, 1, [65535]).subarray(24, 26)).toEqual(Buffer.from([16, 0]));
});
