/**
 * `csv` (and `dicom --labels`): a table with a path column and label column(s), optionally a
 * patient and a split column. Paths are relative to the table's folder (csv) or the source
 * folder (dicom), or absolute, and must stay inside that folder once resolved (`..`, absolute
 * paths and symlinks included): a row naming a file outside it, or anything but a regular file
 * (a FIFO, a device, a folder), is refused with ERR_FORMAT naming the table, the line and the path
 * — the rest of a label file is then suspect too, so the prepare stops (docs/formats.md).
 */
import { realpathSync, statSync } from 'fs';
import path from 'path';
import { ImlmError } from '../../errors';
import type { Split } from '../splits';
import { readCsvTable, requireColumns } from './csv-table';
import type { ImportOptions, SourceListing, SourceSample } from './source';
import { fileKind } from '../json-file';
import { patientOf } from './walk';

const kSplitNames: Record<string, Split> = { train: 'train', val: 'val', validation: 'val', valid: 'val', test: 'test' };

/** True when `inner` (absolute) is `outer` or below it. */
function isInside(outer: string, inner: string): boolean {
  const rel = path.relative(outer, inner);
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${path.sep}`) && !path.isAbsolute(rel));
}

/**
 * The '/'-separated path of a table row's file relative to `root`, after checking that it is a
 * regular file inside `root` (`rootReal`: its real path) — never opened here.
 */
function confinedPath(rel: string, root: string, rootReal: string, where: string, column: string): string {
  const todo = `expected a path to an image file inside ${root} (the folder the table's paths are relative to); move the image into it or fix the row`;
  const full = path.resolve(root, rel);
  if (!isInside(root, full) || full === root) {
    throw new ImlmError(`${where}: '${column}' is '${rel}', which resolves to ${full}, outside the data folder (${todo})`, 'ERR_FORMAT');
  }
  let st;
  try {
    st = statSync(full);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const what = code === 'ENOENT' || code === 'ENOTDIR' ? 'does not exist' : code === 'ELOOP' ? 'is a symlink cycle' : `cannot be read (${(e as Error).message})`;
    throw new ImlmError(`${where}: the image '${rel}' ${what} (expected ${full})`, 'ERR_FORMAT');
  }
  if (!st.isFile()) throw new ImlmError(`${where}: '${rel}' is ${fileKind(st)}, not a regular file (${todo}); it was not opened`, 'ERR_FORMAT');
  const real = realpathSync(full);
  if (!isInside(rootReal, real)) {
    throw new ImlmError(`${where}: '${column}' is '${rel}', which a symlink resolves to ${real}, outside the data folder ${rootReal} (${todo})`, 'ERR_FORMAT');
  }
  return path.relative(root, full).split(path.sep).join('/');
}

/** The class list of a single label column: --classes, else the distinct values (numeric order when all are integers). */
function classesOf(values: string[], given: string[] | undefined): string[] {
  if (given) return given;
  const distinct = [...new Set(values)];
  return distinct.every((v) => /^-?\d+$/.test(v)) ? distinct.sort((a, b) => Number(a) - Number(b)) : distinct.sort();
}

export async function listTable(
  tableFile: string,
  root: string,
  options: ImportOptions,
  decoder: SourceListing['decoder'],
  defaultChannels: 1 | 3,
): Promise<SourceListing> {
  const pathColumn = options.pathColumn ?? 'path';
  const labelColumns = options.labelColumns;
  const table = await readCsvTable(tableFile, [pathColumn]);
  const labelColumn = labelColumns ? undefined : (options.labelColumn ?? (table.header.includes('label') ? 'label' : undefined));
  if (!labelColumns && !labelColumn) {
    throw new ImlmError(
      `${tableFile}: line 1: no label column (expected a column 'label', or name one with --label-column <name>, or several 0/1 columns with --label-columns a,b,c; found ${table.header.join(', ')})`,
      'ERR_FORMAT',
    );
  }
  requireColumns(tableFile, table.header, [pathColumn, ...(labelColumns ?? [labelColumn!]), ...(options.patientColumn ? [options.patientColumn] : []), ...(options.splitColumn ? [options.splitColumn] : [])]);
  const classes = labelColumns ?? classesOf(table.rows.map((r) => r.values[labelColumn!]), options.classes);
  const classIndex = new Map(classes.map((c, i) => [c, i]));
  const pattern = options.patientPattern ? new RegExp(options.patientPattern) : null;
  let rootReal: string;
  try {
    rootReal = realpathSync(root);
  } catch (e) {
    throw new ImlmError(`cannot resolve the data folder ${root}: ${(e as Error).message} (expected a folder)`, 'ERR_IO', { cause: e });
  }
  const samples: SourceSample[] = table.rows.map(({ line, values }) => {
    const where = `${tableFile}: line ${line}`;
    const rel = values[pathColumn];
    if (rel === '') throw new ImlmError(`${where}: '${pathColumn}' is empty (expected an image path)`, 'ERR_FORMAT');
    const file = confinedPath(rel, root, rootReal, where, pathColumn);
    let label: number | Uint8Array;
    if (labelColumns) {
      label = new Uint8Array(labelColumns.length);
      labelColumns.forEach((c, k) => {
        const v = values[c];
        if (v !== '0' && v !== '1') throw new ImlmError(`${where}: column '${c}' is '${v}' (expected 0 or 1)`, 'ERR_FORMAT');
        (label as Uint8Array)[k] = Number(v);
      });
    } else {
      const v = values[labelColumn!];
      const k = classIndex.get(v);
      if (k === undefined) throw new ImlmError(`${where}: '${labelColumn}' is '${v}', which is not a class (expected one of ${classes.join(', ')})`, 'ERR_FORMAT');
      label = k;
    }
    let split: Split | undefined;
    if (options.splitColumn) {
      split = kSplitNames[values[options.splitColumn].toLowerCase()];
      if (!split) throw new ImlmError(`${where}: '${options.splitColumn}' is '${values[options.splitColumn]}' (expected train, val or test)`, 'ERR_FORMAT');
    }
    const patient = options.patientColumn ? values[options.patientColumn] : patientOf(file, pattern);
    if (patient === '') throw new ImlmError(`${where}: '${options.patientColumn}' is empty (expected a patient id)`, 'ERR_FORMAT');
    return { file, label, patient, ...(split ? { split } : {}) };
  });
  return {
    root,
    task: labelColumns ? 'multilabel' : classes.length === 2 ? 'binary' : 'multiclass',
    classes,
    samples,
    decoder,
    defaultChannels,
    ...(options.splitColumn ? { division: `the '${options.splitColumn}' column of ${tableFile}` } : {}),
  };
}
