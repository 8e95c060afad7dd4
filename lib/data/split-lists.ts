/**
 * The paper's split files (`--split-list`), in the two formats of its repository:
 *   - NIH ChestX-ray14 `*_list.txt`: one image a line, `filename` then the 14 labels (0/1),
 *     separated by white space, no header;
 *   - BCH `*_split.csv`: header `img_path,labels`, `img_path` = `patient/class/file.png`
 *     relative to the data set root, `labels` 0/1.
 * A list entry names a sample when the sample's path equals it or ends with '/' + it, so the
 * NIH file names match images in any sub-folder and BCH paths match at any depth.
 */
import path from 'path';
import { ImlmError } from '../errors';
import type { SourceSample } from './importers/source';
import { parseCsv } from './importers/csv-table';
import { readRegularFile } from './json-file';
import type { Split } from './splits';

export interface SplitListSpec {
  /** The split the list fills; inferred from the file name (train / val / test) when absent. */
  split?: Split;
  file: string;
}

export interface SplitList {
  split: Split;
  file: string;
  /** entry → its labels as given by the list (class index, or 0/1 per class). */
  entries: Map<string, number | Uint8Array>;
}

/** Parses `split=file` or `file` (split from the file name). */
export function parseSplitListSpec(spec: string): SplitListSpec {
  const m = /^(train|val|test)=(.+)$/.exec(spec);
  return m ? { split: m[1] as Split, file: m[2] } : { file: spec };
}

function inferSplit(file: string): Split {
  const base = path.basename(file).toLowerCase();
  const found = (['train', 'val', 'test'] as const).filter((s) => new RegExp(`(^|[^a-z])${s}`).test(base));
  if (found.length !== 1) {
    throw new ImlmError(`cannot tell which split ${file} is (expected 'train', 'val' or 'test' in its name, or pass --split-list <split>=<file>)`, 'ERR_INVALID_ARG');
  }
  return found[0];
}

/**
 * A list entry is matched against the sample paths of the listing (which never leave the source
 * folder) and never opened; still, an entry that could only name a file outside the folder — an
 * absolute path or one with a `..` segment — is a broken list, refused naming file, line and entry.
 */
function checkEntry(entry: string, file: string, line: number): string {
  if (entry.startsWith('/') || /^[A-Za-z]:[\\/]/.test(entry) || entry.split(/[\\/]/).includes('..')) {
    throw new ImlmError(`${file}: line ${line}: the entry '${entry}' leaves the data folder (expected a path relative to the data folder, without '..'); fix the list`, 'ERR_FORMAT');
  }
  return entry;
}

export async function readSplitList(spec: SplitListSpec): Promise<SplitList> {
  const { file } = spec;
  const text = (await readRegularFile(file, 'a split list (NIH *_list.txt or BCH *_split.csv)')).toString('utf8');
  const entries = new Map<string, number | Uint8Array>();
  const firstLine = text.slice(0, text.indexOf('\n') >>> 0).trim();
  if (firstLine.includes(',')) {
    const records = parseCsv(text, file);
    const header = records[0].fields.map((h) => h.trim());
    const pathAt = header.indexOf('img_path');
    const labelAt = header.indexOf('labels');
    if (pathAt < 0 || labelAt < 0) throw new ImlmError(`${file}: line 1: expected the header 'img_path,labels' (BCH split list) but found '${firstLine}'`, 'ERR_FORMAT');
    for (const { line, fields } of records.slice(1)) {
      const label = fields[labelAt]?.trim();
      if (!/^\d+$/.test(label ?? '')) throw new ImlmError(`${file}: line ${line}: 'labels' is '${label}' (expected a class index, 0 or 1)`, 'ERR_FORMAT');
      const entry = (fields[pathAt] ?? '').trim();
      if (entry === '') throw new ImlmError(`${file}: line ${line}: 'img_path' is empty (expected a path relative to the data folder)`, 'ERR_FORMAT');
      entries.set(checkEntry(entry, file, line), Number(label));
    }
  } else {
    let width = -1;
    text.split(/\r?\n/).forEach((raw, i) => {
      const parts = raw.trim().split(/\s+/);
      if (parts[0] === '') return;
      const labels = parts.slice(1);
      if (width < 0) width = labels.length;
      if (labels.length !== width || labels.some((v) => v !== '0' && v !== '1')) {
        throw new ImlmError(`${file}: line ${i + 1}: expected a file name and ${width} labels of 0 or 1 (NIH split list) but found '${raw.trim()}'`, 'ERR_FORMAT');
      }
      entries.set(checkEntry(parts[0], file, i + 1), Uint8Array.from(labels, Number));
    });
  }
  if (entries.size === 0) throw new ImlmError(`${file} lists no images`, 'ERR_FORMAT');
  return { split: spec.split ?? inferSplit(file), file, entries };
}

export interface SplitListAssignment {
  /** The split of each sample (in listing order), or null for a sample in no list. */
  splits: Array<Split | null>;
  /** Per list: rows, rows matched to a sample, and samples whose list labels differ from the source's. */
  report: Array<{ split: Split; file: string; rows: number; matched: number; notInSource: number; labelMismatches: number; mismatchExamples: string[] }>;
}

function sameLabel(a: number | Uint8Array | null, b: number | Uint8Array): boolean {
  if (a === null) return true;
  if (typeof a === 'number' || typeof b === 'number') return a === b;
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

/** Assigns each sample the split of the list that names it; a sample named by two lists is an error. */
export function assignSplitLists(samples: readonly SourceSample[], lists: readonly SplitList[]): SplitListAssignment {
  const owner = new Map<string, number>();
  lists.forEach((list, k) => {
    for (const key of list.entries.keys()) {
      const other = owner.get(key);
      if (other !== undefined && other !== k) {
        throw new ImlmError(`'${key}' is in two split lists: ${lists[other].file} and ${list.file} (expected each image in one list)`, 'ERR_FORMAT');
      }
      owner.set(key, k);
    }
  });
  const report = lists.map((l) => ({ split: l.split, file: l.file, rows: l.entries.size, matched: 0, notInSource: 0, labelMismatches: 0, mismatchExamples: [] as string[] }));
  const splits = samples.map((sample) => {
    const parts = sample.file.split('/');
    for (let start = 0; start < parts.length; start++) {
      const key = parts.slice(start).join('/');
      const k = owner.get(key);
      if (k === undefined) continue;
      const r = report[k];
      r.matched++;
      if (!sameLabel(sample.label, lists[k].entries.get(key)!)) {
        r.labelMismatches++;
        if (r.mismatchExamples.length < 10) r.mismatchExamples.push(sample.file);
      }
      return lists[k].split;
    }
    return null;
  });
  for (const r of report) r.notInSource = r.rows - r.matched;
  return { splits, report };
}
