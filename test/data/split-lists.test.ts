// The paper's split files: NIH `*_list.txt` (filename + 14 labels) and BCH `*_split.csv`
// (img_path,labels). Fixture lists are built here in the same formats; the real lists in
// /work/shared/reference-splits are checked too when that folder exists.
import { existsSync, mkdtempSync, writeFileSync } from 'fs';
import os from 'os';
import path from 'path';
import { kNihClasses } from '../../lib/data/importers/nih-cxr14';
import { prepareImages } from '../../lib/data/prepare-images';
import { assignSplitLists, parseSplitListSpec, readSplitList } from '../../lib/data/split-lists';
import { loadSplit } from '../../lib/data/store';
import { nihFixture } from './fixtures';

const tmp = () => mkdtempSync(path.join(os.tmpdir(), 'imlm-lists-'));
const nihLine = (name: string, findings: string) => `${name} ${kNihClasses.map((c) => (findings.split('|').includes(c) ? 1 : 0)).join(' ')}`;

describe('split lists', () => {
  test('formats are told apart; the split comes from the file name or split=file', async () => {
    const dir = tmp();
    writeFileSync(path.join(dir, 'chest_xray_14_val_list.txt'), '00000001_000.png 0 1 0 0 0 0 0 0 0 0 0 0 0 0\n00000002_000.png 0 0 0 0 0 0 0 0 0 0 0 0 0 1\n');
    writeFileSync(path.join(dir, 'test_split.csv'), 'img_path,labels\n9075/0/a_class0.png,0\n9075/1/b_class1.png,1\n');
    const nih = await readSplitList({ file: path.join(dir, 'chest_xray_14_val_list.txt') });
    expect(nih.split).toBe('val');
    expect(Array.from(nih.entries.get('00000002_000.png') as Uint8Array)).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
    const bch = await readSplitList(parseSplitListSpec(`train=${path.join(dir, 'test_split.csv')}`));
    expect(bch.split).toBe('train');
    expect(bch.entries.get('9075/1/b_class1.png')).toBe(1);
    // Matching by path suffix: NIH names match in any sub-folder, BCH paths at any depth.
    const { splits, report } = assignSplitLists(
      [
        { file: 'images_001/images/00000001_000.png', label: null, patient: '1' },
        { file: 'IDC/9075/1/b_class1.png', label: 1, patient: '9075' },
        { file: 'IDC/9075/0/other.png', label: 0, patient: '9075' },
      ],
      [nih, bch],
    );
    expect(splits).toEqual(['val', 'train', null]);
    expect(report.map((r) => [r.rows, r.matched, r.notInSource])).toEqual([[2, 1, 1], [2, 1, 1]]);
  });

  test('malformed lists, an unknown split and an image in two lists are errors naming the file and line', async () => {
    const dir = tmp();
    const bad = path.join(dir, 'train_list.txt');
    writeFileSync(bad, 'a.png 0 1\nb.png 0 2\n');
    await expect(readSplitList({ file: bad })).rejects.toMatchObject({ code: 'ERR_FORMAT', message: `${bad}: line 2: expected a file name and 2 labels of 0 or 1 (NIH split list) but found 'b.png 0 2'` });
    const csv = path.join(dir, 'val.csv');
    writeFileSync(csv, 'path,label\nx.png,1\n');
    await expect(readSplitList({ file: csv })).rejects.toMatchObject({ code: 'ERR_FORMAT', message: expect.stringContaining("line 1: expected the header 'img_path,labels'") });
    const anon = path.join(dir, 'list.txt');
    writeFileSync(anon, 'a.png 1\n');
    await expect(readSplitList({ file: anon })).rejects.toMatchObject({ code: 'ERR_INVALID_ARG', message: expect.stringContaining('--split-list <split>=<file>') });
    const one = await readSplitList({ split: 'train', file: anon });
    const two = await readSplitList({ split: 'test', file: anon });
    expect(() => assignSplitLists([], [one, two])).toThrow(`'a.png' is in two split lists: ${anon} and ${anon}`);
  });

  test('prepare nih-cxr14 --split-list: the lists decide the splits, unlisted images are excluded, label disagreements are reported', async () => {
    const src = tmp();
    const rows = await nihFixture(src, 6, 2);
    const dir = tmp();
    // Train: patients 1–3, val: 4, test: 5; patient 6 listed nowhere. One val row disagrees with the CSV.
    const list = (ids: number[], flip = -1) => ids.map((i) => nihLine(rows[i].name, i === flip ? 'Hernia' : rows[i].findings)).join('\n') + '\n';
    writeFileSync(path.join(dir, 'chest_xray_14_train_list.txt'), list([0, 1, 2, 3, 4, 5]));
    writeFileSync(path.join(dir, 'chest_xray_14_val_list.txt'), list([6, 7], 7));
    writeFileSync(path.join(dir, 'chest_xray_14_test_list.txt'), list([8, 9]));
    const warnings: string[] = [];
    const out = path.join(tmp(), 's');
    const m = await prepareImages('nih-cxr14', src, out, {
      size: 4,
      splitLists: ['train', 'val', 'test'].map((s) => ({ file: path.join(dir, `chest_xray_14_${s}_list.txt`) })),
      onWarning: (w) => warnings.push(w),
    });
    expect(Object.fromEntries(Object.entries(m.splits).map(([k, v]) => [k, v!.count]))).toEqual({ train: 6, val: 2, test: 2 });
    expect(m.excluded).toEqual({ count: 2, reason: 'in no --split-list', examples: [`images_001/images/${rows[10].name}`, `images_002/images/${rows[11].name}`] });
    expect(warnings).toEqual([expect.stringMatching(/chest_xray_14_val_list\.txt: 1 of 2 images have other labels in the list than in the source .*; the source's labels are kept/)]);
    const test = await loadSplit(out, 'test');
    expect(Array.from(test.ids.toTypedArray() as BigInt64Array, Number)).toEqual([8, 9]);
    expect(test.patients).toBeUndefined(); // only with { patients: true }
    for (const t of [test.images, test.labels, test.ids]) t.dispose();
  });

  const shared = '/work/shared/reference-splits';
  const maybe = existsSync(shared) ? test : test.skip;
  if (!existsSync(shared)) console.warn(`${shared} is absent: the check of the paper's real split lists is skipped`);
  // README.md there counts lines with wc -l; the val and test lists end without a newline, so they hold one row more.
  maybe("the paper's real lists parse: NIH 78,468 / 11,219 / 22,433 rows of 14 labels, no image in two lists; BCH test 49,458 rows from 56 patients", async () => {
    const lists = await Promise.all(['train', 'val', 'test'].map((s) => readSplitList({ file: path.join(shared, `nih-cxr14-chest_xray_14_${s}_list.txt`) })));
    expect(lists.map((l) => [l.split, l.entries.size])).toEqual([['train', 78468], ['val', 11219], ['test', 22433]]);
    expect(() => assignSplitLists([], lists)).not.toThrow();
    const bch = await readSplitList({ file: path.join(shared, 'bch-test_split.csv') });
    expect(bch.split).toBe('test');
    expect(bch.entries.size).toBe(49458);
    expect([...bch.entries.values()].filter((v) => v === 0).length).toBe(36370);
    expect(new Set([...bch.entries.keys()].map((k) => k.split('/')[0])).size).toBe(56);
  });
});
