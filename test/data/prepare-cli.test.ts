// `imlm-native prepare <format>` as a user runs it: options, progress on stderr, errors and exit codes.
import { mkdtempSync, writeFileSync } from 'fs';
import os from 'os';
import path from 'path';
import { runCli } from '../helpers/run';
import { prepareImages } from '../../lib/data/prepare-images';
import { dicomFile, nihFixture } from './fixtures';

const tmp = () => mkdtempSync(path.join(os.tmpdir(), 'imlm-pcli-'));

describe('imlm-native prepare (image formats)', () => {
  let src: string;
  let rows: Awaited<ReturnType<typeof nihFixture>>;
  beforeAll(async () => {
    src = tmp();
    rows = await nihFixture(src, 10, 2);
  });

  test('nih-cxr14 with options: progress with images/s and ETA on stderr, the manifest with --json, --overwrite needed to replace', async () => {
    const out = path.join(tmp(), 'store');
    const args = ['prepare', 'nih-cxr14', src, out, '--size', '8', '--channels', '3', '--pad', '--seed', '4', '--fractions', '0.1,1', '--concurrency', '2', '--shares', '0.6,0.2,0.2', '--json'];
    const r = await runCli(args);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/^20\/20 \| ips [\d.]+ \| skipped 0 \| eta 0s$/m);
    const m = JSON.parse(r.stdout);
    expect(m).toMatchObject({ channels: 3, imageSize: [8, 8], seed: 4, preparation: { resize: 'longer side to size, padded to a square with black', shares: { train: 0.6, val: 0.2, test: 0.2 }, fractions: [0.1, 1] } });
    expect(m.splits.train.count + m.splits.val.count + m.splits.test.count).toBe(20);
    const again = await runCli(args);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/ERR_INVALID_ARG: .*store already exists; pass --overwrite/);
    const replaced = await runCli([...args.filter((a) => a !== '--json'), '--overwrite']);
    expect(replaced.code).toBe(0);
    expect(replaced.stdout).toMatch(/^prepared .*store: multilabel, 14 classes, 3×8×8, train \d+, val \d+, test \d+ \([\d.]+ s\)\n$/);
  });

  test('too many unreadable images: exit 1 with the list; --max-skipped 10% lets it through with warnings', async () => {
    const dir = tmp();
    require('fs').cpSync(src, dir, { recursive: true });
    writeFileSync(path.join(dir, 'images_001', 'images', rows[0].name), 'broken');
    const failed = await runCli(['prepare', 'nih-cxr14', dir, path.join(tmp(), 'a'), '--size', '4']);
    expect(failed.code).toBe(1);
    expect(failed.stderr).toMatch(/imlm-native: warning: skipped .*00000001_000\.png: cannot decode/);
    expect(failed.stderr).toMatch(/ERR_FORMAT: 1 of 20 images \(5\.00%\) could not be read, more than the allowed 1\.00% \(--max-skipped\)[\s\S]*images_001\/images\/00000001_000\.png: cannot decode/);
    const passed = await runCli(['prepare', 'nih-cxr14', dir, path.join(tmp(), 'b'), '--size', '4', '--max-skipped', '10%']);
    expect(passed.code).toBe(0);
    expect(passed.stdout).toMatch(/\(1 skipped\)/);
  });

  test('dicom through the CLI decodes on worker threads, byte for byte as in-process decoding', async () => {
    const dir = tmp();
    const lines = ['path,label'];
    for (let i = 0; i < 8; i++) {
      const values = Array.from({ length: 64 }, (_, p) => (p * (i + 3) * 37) % 4096);
      writeFileSync(path.join(dir, `${i}.dcm`), dicomFile({ rows: 8, columns: 8, values, bitsStored: 12, photometric: i % 2 ? 'MONOCHROME1' : 'MONOCHROME2', ...(i % 3 ? { windowCentre: 2000, windowWidth: 1500 } : {}) }));
      lines.push(`${i}.dcm,${i % 2 ? 'b' : 'a'}`);
    }
    writeFileSync(path.join(dir, 'labels.csv'), lines.join('\n'));
    const out = path.join(tmp(), 'cli');
    const r = await runCli(['prepare', 'dicom', dir, out, '--labels', path.join(dir, 'labels.csv'), '--size', '6', '--concurrency', '3', '--json']);
    expect(r.stderr).not.toMatch(/warning|ERR_/);
    expect(r.code).toBe(0);
    const inProcess = await prepareImages('dicom', dir, path.join(tmp(), 'lib'), { labelsFile: path.join(dir, 'labels.csv'), size: 6, concurrency: 1 });
    expect(JSON.parse(r.stdout).contentHash).toBe(inProcess.contentHash);
  });

  test('bad arguments say what was expected', async () => {
    const unknown = await runCli(['prepare', 'png-folder', src, path.join(tmp(), 'x')]);
    expect(unknown.stderr).toMatch(/ERR_INVALID_ARG: Expected a format among idx, nih-cxr14, eyepacs-dr, bch-idc, folder, csv, unlabeled, dicom but received 'png-folder'/);
    const channels = await runCli(['prepare', 'nih-cxr14', src, path.join(tmp(), 'x'), '--channels', '2']);
    expect(channels.stderr).toMatch(/ERR_INVALID_ARG: Expected --channels 1 \| 3 but received '2'/);
    const share = await runCli(['prepare', 'nih-cxr14', src, path.join(tmp(), 'x'), '--max-skipped', 'lots']);
    expect(share.stderr).toMatch(/Expected a share such as 0\.01 or 1% for --max-skipped but received 'lots'/);
  });
});
