// What prepare reads and how (docs/formats.md, "Listing a folder" and "Paths in label files"):
// each real file once whatever the symlinks, every file left out listed with its reason, FIFOs
// refused without ever blocking, label-file paths kept inside the data folder. Real files, real
// links, a real FIFO (mkfifo); no mocks.
import { execFileSync } from 'child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'fs';
import os from 'os';
import path from 'path';
import { resolvePolicy } from '../../lib';
import { readJsonFile } from '../../lib/data/json-file';
import { prepareImages } from '../../lib/data/prepare-images';
import { readSplitList } from '../../lib/data/split-lists';
import { readManifest, readSamples } from '../../lib/data/store';
import { finetuneProgressSchema } from '../../lib/eval/options';
import { uniformImage } from './fixtures';

const tmp = () => mkdtempSync(path.join(os.tmpdir(), 'imlm-safety-'));
const fifo = (file: string) => execFileSync('mkfifo', [file]);

/** Rejects when `promise` takes longer than `ms` (a blocked FIFO read would never settle). */
async function within<T>(ms: number, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`still running after ${ms} ms (blocked?)`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

describe('folder walks visit each real file once', () => {
  test('unlabeled: two self-links, a link to the parent, a duplicate file link, a dangling link and a FIFO', async () => {
    const src = tmp();
    await Promise.all(Array.from({ length: 10 }, (_, i) => uniformImage(path.join(src, i < 5 ? 'a' : 'a/b', `${i}.png`), 8, 8, 1, 10 * i)));
    symlinkSync('.', path.join(src, 'a', 'self1')); // a -> a
    symlinkSync('.', path.join(src, 'a', 'self2'));
    symlinkSync('..', path.join(src, 'a', 'b', 'up')); // b -> a, its parent
    symlinkSync('loop.png', path.join(src, 'a', 'loop.png')); // a link to itself: ELOOP
    symlinkSync('0.png', path.join(src, 'a', 'z-dup.png'));
    symlinkSync('missing.png', path.join(src, 'a', 'gone.png'));
    symlinkSync('b', path.join(src, 'b-again')); // dangling at the root (b is under a/)
    symlinkSync('a/b', path.join(src, 'c')); // a second way into a/b
    fifo(path.join(src, 'a', 'pipe.png'));
    const out = path.join(tmp(), 's');
    const m = await within(60000, prepareImages('unlabeled', src, out, { size: 4, channels: 1 }));
    expect(m.splits.train!.count).toBe(10);
    const samples = await readSamples(out);
    expect(samples.files).toEqual([...['0', '1', '2', '3', '4'].map((i) => `a/${i}.png`), ...['5', '6', '7', '8', '9'].map((i) => `a/b/${i}.png`)]);
    const reasons = Object.fromEntries(m.skipped.map((s) => [s.file, s.reason]));
    expect(Object.keys(reasons).sort()).toEqual(['a/b/up', 'a/gone.png', 'a/loop.png', 'a/pipe.png', 'a/self1', 'a/self2', 'a/z-dup.png', 'b-again', 'c']);
    expect(reasons['a/self1']).toMatch(/^symlink cycle: points to the folder 'a' .*which contains the link/);
    expect(reasons['a/b/up']).toMatch(/^symlink cycle: points to the folder 'a'/);
    expect(reasons['a/loop.png']).toMatch(/^symlink cycle: the link to 'loop.png' leads back to itself/);
    expect(reasons['a/z-dup.png']).toMatch(/^duplicate of 'a\/0.png': the same file .* reached through a symlink/);
    expect(reasons['a/gone.png']).toBe("dangling symlink: its target 'missing.png' does not exist");
    expect(reasons['b-again']).toBe("dangling symlink: its target 'b' does not exist");
    expect(reasons.c).toMatch(/^duplicate of the folder 'a\/b'/);
    expect(reasons['a/pipe.png']).toMatch(/^a FIFO \(named pipe\), not a regular file: left out without being opened/);
    // The manifest on disk holds the same list, sorted by file.
    expect((await readManifest(out)).skipped.map((s) => s.file)).toEqual(Object.keys(reasons).sort());
  });

  test('folder (class folders): a link to the parent inside a class folder is a cycle, not 41× the images', async () => {
    const src = tmp();
    await Promise.all(Array.from({ length: 6 }, (_, i) => uniformImage(path.join(src, i % 2 ? 'cat' : 'dog', `${i}.png`), 8, 8, 1, i)));
    symlinkSync('..', path.join(src, 'cat', 'parent'));
    const out = path.join(tmp(), 's');
    const m = await within(60000, prepareImages('folder', src, out, { size: 4, channels: 1, shares: { train: 1, val: 0, test: 0 } }));
    expect(m.splits.train!.count).toBe(6);
    expect(m.skipped).toEqual([{ file: 'cat/parent', reason: expect.stringMatching(/^symlink cycle: points to the folder '\.'/) }]);
  });
});

describe('label-file paths stay inside the data folder', () => {
  let dir: string;
  beforeAll(async () => {
    dir = tmp();
    await uniformImage(path.join(dir, 'data', 'img', '0.png'), 8, 8, 1, 0);
    await uniformImage(path.join(dir, 'data', 'img', '1.png'), 8, 8, 1, 50);
    await uniformImage(path.join(dir, 'outside.png'), 8, 8, 1, 100);
  });
  const csvWith = (row: string) => {
    const csv = path.join(dir, 'data', `labels-${Math.random().toString(36).slice(2)}.csv`);
    writeFileSync(csv, `path,label\nimg/0.png,0\n${row},1\n`);
    return csv;
  };

  test.each([
    ['../../etc/hostname', /line 3: 'path' is '\.\.\/\.\.\/etc\/hostname', which resolves to \/.*etc\/hostname, outside the data folder/],
    ['../outside.png', /line 3: 'path' is '\.\.\/outside\.png', which resolves to .*outside\.png, outside the data folder/],
    ['/etc/hostname', /line 3: 'path' is '\/etc\/hostname', which resolves to \/etc\/hostname, outside the data folder/],
    ['img/../../outside.png', /outside the data folder/],
  ])('the row %s is refused with ERR_FORMAT naming file, line and path', async (row, message) => {
    const csv = csvWith(row);
    const error = await prepareImages('csv', csv, path.join(tmp(), 's'), { size: 4 }).catch((e) => e);
    expect(error).toMatchObject({ code: 'ERR_FORMAT', message: expect.stringMatching(message) });
    expect(error.message).toContain(csv);
  });

  test('a symlink inside the folder that points outside is refused; an absolute path inside is accepted', async () => {
    symlinkSync(path.join(dir, 'outside.png'), path.join(dir, 'data', 'img', 'escape.png'));
    await expect(prepareImages('csv', csvWith('img/escape.png'), path.join(tmp(), 's'), { size: 4 })).rejects.toMatchObject({
      code: 'ERR_FORMAT',
      message: expect.stringMatching(/line 3: 'path' is 'img\/escape.png', which a symlink resolves to .*outside\.png, outside the data folder/),
    });
    const out = path.join(tmp(), 's');
    await prepareImages('csv', csvWith(path.join(dir, 'data', 'img', '1.png')), out, { size: 4, shares: { train: 1, val: 0, test: 0 } });
    expect((await readSamples(out)).files).toEqual(['img/0.png', 'img/1.png']);
  });

  test('split-list entries with .. or an absolute path are refused naming file and line', async () => {
    const list = path.join(dir, 'train_split.csv');
    writeFileSync(list, 'img_path,labels\nimg/0.png,0\n../../etc/hostname,1\n');
    await expect(readSplitList({ file: list })).rejects.toMatchObject({ code: 'ERR_FORMAT', message: expect.stringContaining(`${list}: line 3: the entry '../../etc/hostname' leaves the data folder`) });
    const nih = path.join(dir, 'test_list.txt');
    writeFileSync(nih, 'a.png 0 1\n/etc/passwd 1 0\n');
    await expect(readSplitList({ file: nih })).rejects.toMatchObject({ code: 'ERR_FORMAT', message: expect.stringContaining(`${nih}: line 2: the entry '/etc/passwd'`) });
  });
});

describe('FIFOs are refused at once, never opened for a blocking read', () => {
  let dir: string;
  beforeAll(async () => {
    dir = tmp();
    await uniformImage(path.join(dir, 'img', '0.png'), 8, 8, 1, 0);
    fifo(path.join(dir, 'img', 'pipe.png'));
    fifo(path.join(dir, 'labels.csv'));
    fifo(path.join(dir, 'train_list.txt'));
    fifo(path.join(dir, 'policy.yaml'));
  });

  test('a CSV row naming a FIFO: ERR_FORMAT naming file, line and path', async () => {
    const csv = path.join(dir, 'rows.csv');
    writeFileSync(csv, 'path,label\nimg/0.png,0\nimg/pipe.png,1\n');
    const started = Date.now();
    await expect(within(5000, prepareImages('csv', csv, path.join(tmp(), 's'), { size: 4 }))).rejects.toMatchObject({
      code: 'ERR_FORMAT',
      message: expect.stringContaining(`${csv}: line 3: 'img/pipe.png' is a FIFO (named pipe), not a regular file`),
    });
    expect(Date.now() - started).toBeLessThan(5000);
  });

  test('a FIFO as the label file, a split list, a policy file or a manifest: refused within a second', async () => {
    const fifoCsv = path.join(dir, 'labels.csv');
    await expect(within(1000, prepareImages('csv', fifoCsv, path.join(tmp(), 's'), { size: 4 }))).rejects.toMatchObject({
      code: 'ERR_IO',
      message: expect.stringContaining(`${fifoCsv} is a FIFO (named pipe), not a regular file`),
    });
    await expect(within(1000, readSplitList({ file: path.join(dir, 'train_list.txt') }))).rejects.toMatchObject({ code: 'ERR_IO', message: expect.stringContaining('is a FIFO') });
    expect(() => resolvePolicy(path.join(dir, 'policy.yaml'))).toThrow(expect.objectContaining({ code: 'ERR_IO', message: expect.stringContaining('is a FIFO') }));
    const store = path.join(tmp(), 'store');
    mkdirSync(store);
    fifo(path.join(store, 'manifest.json'));
    await expect(within(1000, readManifest(store))).rejects.toMatchObject({ code: 'ERR_FORMAT', message: expect.stringContaining('is a FIFO') });
  });
});

describe('samples.json and progress.json are schema-checked', () => {
  let store: string;
  beforeAll(async () => {
    const src = tmp();
    await Promise.all(Array.from({ length: 4 }, (_, i) => uniformImage(path.join(src, i % 2 ? 'a' : 'b', `${i}.png`), 4, 4, 1, i)));
    store = path.join(tmp(), 's');
    await prepareImages('folder', src, store, { size: 4, channels: 1, shares: { train: 1, val: 0, test: 0 } });
  });

  test.each([
    ['files not an array', (s: any) => (s.files = 'x'), '/files: expected a value of type array but found "x"'],
    ['a patient of the wrong type', (s: any) => (s.patients[0] = 7), '/patients/0: expected a value of type string but found 7'],
    ['a file missing', (s: any) => s.files.pop(), '/files: expected 4 files (the count in'],
    ['a patient twice', (s: any) => s.patients.push(s.patients[0]), "/patients/4: expected each patient name once"],
    ['wrong format', (s: any) => (s.format = 'other'), '/format: expected "imlm-native/dataset-samples" but found "other"'],
  ])('a bad samples.json (%s) is ERR_FORMAT naming file and field', async (_, change, message) => {
    const copy = path.join(tmp(), 'c');
    cpSync(store, copy, { recursive: true });
    const file = path.join(copy, 'samples.json');
    const samples = JSON.parse(readFileSync(file, 'utf8'));
    change(samples);
    writeFileSync(file, JSON.stringify(samples));
    await expect(readSamples(copy)).rejects.toMatchObject({ code: 'ERR_FORMAT', message: expect.stringContaining(`${file}: ${message}`) });
  });

  test('a manifest field of the wrong type names the file and the JSON pointer', async () => {
    const copy = path.join(tmp(), 'm');
    cpSync(store, copy, { recursive: true });
    const file = path.join(copy, 'manifest.json');
    const manifest = JSON.parse(readFileSync(file, 'utf8'));
    manifest.splits.train.count = 'NaN';
    writeFileSync(file, JSON.stringify(manifest));
    await expect(readManifest(copy)).rejects.toMatchObject({
      code: 'ERR_FORMAT',
      message: `${file}: /splits/train/count: expected a value of type integer but found "NaN"; the store is damaged or was changed by hand; prepare it again with \`imlm-native prepare\``,
    });
  });

  test('progress.json of eval finetune: a bad history entry is ERR_FORMAT naming file and field', async () => {
    const file = path.join(tmp(), 'progress.json');
    writeFileSync(file, JSON.stringify({ history: [{ step: 1, epoch: 1, trainLoss: null, valMetric: '0.5' }], best: null, sinceBest: 0, stoppedEarly: false }));
    await expect(readJsonFile(file, finetuneProgressSchema, 'start again')).rejects.toMatchObject({
      code: 'ERR_FORMAT',
      message: expect.stringContaining(`${file}: /history/0/valMetric: expected`),
    });
  });
});
