/**
 * `folder`: one sub-folder per class (`<class>/<image>`), or the same inside `train/`, `val/`
 * (or `validation/`) and `test/` — then that is the source's own division. `unlabeled`: every
 * image under a folder, for self-supervised training only.
 */
import { statSync } from 'fs';
import path from 'path';
import { ImlmError } from '../../errors';
import type { Split } from '../splits';
import { kImageExtensions, type ImportOptions, type SourceListing, type SourceSample } from './source';
import { assertFolder, listFiles, patientOf } from './walk';

const kDivisionFolders: Record<string, Split> = { train: 'train', val: 'val', validation: 'val', test: 'test' };

export async function listFolder(source: string, options: ImportOptions): Promise<SourceListing> {
  await assertFolder(source, 'a folder with one sub-folder of images per class');
  const { files, skipped } = await listFiles(source, kImageExtensions);
  const top = [...new Set(files.map((f) => f.split('/')[0]))];
  const divided = top.length > 0 && top.every((t) => t in kDivisionFolders && statSync(path.join(source, t)).isDirectory());
  const depth = divided ? 3 : 2;
  const pattern = options.patientPattern ? new RegExp(options.patientPattern) : null;
  const rows = files.map((file) => {
    const parts = file.split('/');
    if (parts.length !== depth) {
      throw new ImlmError(`${source}: '${file}' is not in a class folder (expected ${divided ? '<train|val|test>/' : ''}<class>/<image>)`, 'ERR_FORMAT');
    }
    return { file, cls: parts[depth - 2], split: divided ? kDivisionFolders[parts[0]] : undefined };
  });
  const classes = options.classes ?? [...new Set(rows.map((r) => r.cls))].sort();
  const classIndex = new Map(classes.map((c, i) => [c, i]));
  const samples: SourceSample[] = rows.map(({ file, cls, split }) => {
    const k = classIndex.get(cls);
    if (k === undefined) throw new ImlmError(`${source}: '${file}' is in folder '${cls}', which is not a class (expected one of ${classes.join(', ')})`, 'ERR_FORMAT');
    return { file, label: k, patient: patientOf(file, pattern), ...(split ? { split } : {}) };
  });
  if (samples.length === 0) throw new ImlmError(`${source} holds no images (${kImageExtensions.join(' ')}) in class folders`, 'ERR_FORMAT');
  return {
    root: source,
    task: classes.length === 2 ? 'binary' : 'multiclass',
    classes,
    samples,
    decoder: 'image',
    defaultChannels: 3,
    skipped,
    ...(divided ? { division: `the source's ${top.sort().join('/')} folders` } : {}),
  };
}

export async function listUnlabeled(source: string, options: ImportOptions): Promise<SourceListing> {
  await assertFolder(source, 'a folder of images');
  const pattern = options.patientPattern ? new RegExp(options.patientPattern) : null;
  const { files, skipped } = await listFiles(source, kImageExtensions);
  const samples = files.map((file) => ({ file, label: null, patient: patientOf(file, pattern) }));
  if (samples.length === 0) throw new ImlmError(`${source} holds no images (${kImageExtensions.join(' ')})`, 'ERR_FORMAT');
  return { root: source, task: 'none', classes: [], samples, decoder: 'image', defaultChannels: 3, defaultShares: { train: 1, val: 0, test: 0 }, skipped };
}

