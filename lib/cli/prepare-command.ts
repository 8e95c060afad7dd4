import { rmSync } from 'fs';
import os from 'os';
import type { Command } from 'commander';
import { ImlmError } from '../errors';
import { kPrepareFormats, prepare, type PrepareOptions } from '../data/prepare';
import { parseSplitListSpec } from '../data/split-lists';
import { ProgressDisplay } from './progress';
import { checkInputFile, checkOutputFolder, choice, intFlag, kStopSignals, num, signalExitCode } from './flags';

interface PrepareFlags {
  overwrite?: boolean;
  valFraction: number;
  seed: number;
  json?: boolean;
  size?: number;
  pad?: boolean;
  channels?: number;
  depth16?: 'range' | 'minmax';
  splitList: string[];
  unlisted?: 'exclude' | 'train';
  shares?: string;
  fractions?: string;
  maxSkipped?: string;
  concurrency?: number;
  drLabels?: 'referable' | 'grades';
  labels?: string;
  pathColumn?: string;
  labelColumn?: string;
  labelColumns?: string;
  patientColumn?: string;
  splitColumn?: string;
  classes?: string;
  patientPattern?: string;
}

/** Warnings printed before the rest are only counted (all of them are in the manifest). */
const kPrintedWarnings = 20;
/** Seconds between progress lines when stderr is not a terminal. */
const kLogEverySeconds = 5;

const list = (v: string) => v.split(',').map((s) => s.trim()).filter((s) => s !== '');

function numbers(flag: string, value: string): number[] {
  const out = list(value).map(Number);
  if (out.some((x) => !Number.isFinite(x))) throw new ImlmError(`Expected numbers separated by commas for ${flag} but received '${value}'`, 'ERR_INVALID_ARG');
  return out;
}

/** '1%' or '0.01' → 0.01. */
function share(flag: string, value: string): number {
  const x = value.endsWith('%') ? Number(value.slice(0, -1)) / 100 : Number(value);
  if (!(x >= 0 && x <= 1)) throw new ImlmError(`Expected a share such as 0.01 or 1% for ${flag} but received '${value}'`, 'ERR_INVALID_ARG');
  return x;
}

/** What can be checked before decoding anything: patterns, split-list files, the store's folder. */
function checkPrepareInputs(out: string, flags: PrepareFlags): void {
  if (flags.patientPattern !== undefined) {
    try {
      new RegExp(flags.patientPattern);
    } catch (e) {
      throw new ImlmError(`Expected a regular expression for --patient-pattern but received '${flags.patientPattern}' (${(e as Error).message}); e.g. '^([^_]+)_' for 'P01_img3.png'`, 'ERR_INVALID_ARG');
    }
  }
  for (const spec of flags.splitList) checkInputFile('--split-list', parseSplitListSpec(spec).file);
  if (flags.labels) checkInputFile('--labels', flags.labels);
  checkOutputFolder('<out>', out);
}

function toOptions(flags: PrepareFlags): PrepareOptions {
  const o: PrepareOptions = {
    overwrite: flags.overwrite,
    seed: flags.seed,
    valFraction: flags.valFraction,
    size: flags.size,
    pad: flags.pad,
    channels: flags.channels as 1 | 3 | undefined,
    depth16: flags.depth16,
    splitLists: flags.splitList.map(parseSplitListSpec),
    unlisted: flags.unlisted,
    concurrency: flags.concurrency,
    drLabels: flags.drLabels,
    labelsFile: flags.labels,
    pathColumn: flags.pathColumn,
    labelColumn: flags.labelColumn,
    labelColumns: flags.labelColumns ? list(flags.labelColumns) : undefined,
    patientColumn: flags.patientColumn,
    splitColumn: flags.splitColumn,
    classes: flags.classes ? list(flags.classes) : undefined,
    patientPattern: flags.patientPattern,
  };
  if (flags.fractions) o.fractions = numbers('--fractions', flags.fractions);
  if (flags.maxSkipped) o.maxSkipped = share('--max-skipped', flags.maxSkipped);
  if (flags.shares) {
    const s = numbers('--shares', flags.shares);
    if (s.length !== 3) throw new ImlmError(`Expected three shares train,val,test for --shares but received '${flags.shares}'`, 'ERR_INVALID_ARG');
    o.shares = { train: s[0], val: s[1], test: s[2] };
  }
  return o;
}

function formatSeconds(s: number): string {
  if (!Number.isFinite(s)) return '?';
  const m = Math.floor(s / 60);
  return m > 0 ? `${m}m${String(Math.round(s % 60)).padStart(2, '0')}s` : `${Math.round(s)}s`;
}

export function registerPrepare(program: Command): void {
  program
    .command('prepare')
    .description('decode a data set once into a store (manifest.json + safetensors shards) for training')
    .argument('<format>', `source format: ${kPrepareFormats.join(' | ')}`)
    .argument('<source>', 'the source folder (csv: the CSV file)')
    .argument('<out>', 'the store folder to create')
    .option('--overwrite', 'replace an existing store')
    .option('--seed <n>', 'seed of the splits and label fractions', intFlag('--seed', 0), 0)
    .option('--size <n>', 'side of the square images in the store, image formats (default: 224)', intFlag('--size', 1))
    .option('--pad', 'resize the longer side and pad to a square (default: shorter side, centre crop)')
    .option('--channels <n>', '1 (grey) or 3 (RGB) (default: 1 for nih-cxr14 and dicom, else 3)', (v: string) => Number(choice('--channels', ['1', '3'])(v)))
    .option('--depth16 <mode>', '16-bit images to 8 bits: range (v/257) | minmax (per image) (default: range)', choice('--depth16', ['range', 'minmax']))
    .option('--split-list <[split=]file>', "a split file of the paper's format (repeatable; split from the file name when not given)", (v: string, acc: string[]) => [...acc, v], [])
    .option('--unlisted <what>', 'images in no --split-list: exclude | train (default: exclude)', choice('--unlisted', ['exclude', 'train']))
    .option('--shares <t,v,s>', 'patient shares of train,val,test for seeded splits (default 0.7,0.2,0.1; unlabeled 1,0,0)')
    .option('--fractions <list>', 'label fractions of the training split (default 0.01,0.06,1)')
    .option('--max-skipped <share>', 'largest share of unreadable images tolerated, e.g. 1% or 0.05 (default: 1%)')
    .option('--concurrency <n>', 'images decoded at once (default: CPUs)', intFlag('--concurrency', 1))
    .option('--dr-labels <mode>', 'eyepacs-dr: referable (grade ≥ 2, binary) | grades (0-4) (default: referable)', choice('--dr-labels', ['referable', 'grades']))
    .option('--labels <csv>', 'dicom: a CSV naming the files and their labels; eyepacs-dr: another trainLabels.csv (default: none; eyepacs-dr: the source\'s own)')
    .option('--path-column <name>', 'csv/dicom: the column of image paths (default path)')
    .option('--label-column <name>', 'csv/dicom: one column of class names or indices (default label)')
    .option('--label-columns <a,b,c>', 'csv/dicom: 0/1 columns, one per class (multilabel) (default: none, --label-column)')
    .option('--patient-column <name>', 'csv/dicom: the column of patient ids (default: each image its own patient)')
    .option('--split-column <name>', 'csv/dicom: a column of train/val/test (the source\'s own division) (default: none, seeded --shares)')
    .option('--classes <a,b,c>', 'folder/csv: class names in label order (default: sorted)')
    .option('--patient-pattern <regex>', 'folder/csv/unlabeled/dicom: the patient id is the first group of this pattern applied to the path (default: none, one patient per image)')
    .option('--val-fraction <x>', 'idx: share of the training images kept for validation', num, 0.1)
    .option('--json', 'print the manifest as JSON')
    .action(async (format: string, source: string, out: string, flags: PrepareFlags) => {
      const started = Date.now();
      const options = toOptions(flags);
      checkPrepareInputs(out, flags);
      // sharp decodes on libuv's thread pool, 4 threads unless UV_THREADPOOL_SIZE says otherwise;
      // the pool reads it when it starts (at the first asynchronous file operation, after this).
      if (!process.env.UV_THREADPOOL_SIZE) process.env.UV_THREADPOOL_SIZE = String(Math.max(4, options.concurrency ?? os.availableParallelism()));
      let display: ProgressDisplay | null = null;
      let lastLog = 0;
      options.onProgress = ({ done, total, skipped }) => {
        display ??= new ProgressDisplay(total, '{bar} {value}/{total} images | {ips} img/s | skipped {skipped} | ETA {eta}');
        const now = Date.now();
        if (!process.stderr.isTTY && done < total && now - lastLog < kLogEverySeconds * 1000) return;
        lastLog = now;
        const rate = done / Math.max(1e-3, (now - started) / 1000);
        display.update({ value: done, fields: { ips: rate.toFixed(1), skipped: String(skipped), eta: formatSeconds((total - done) / rate) } });
      };
      let warnings = 0;
      options.onWarning = (message) => {
        warnings++;
        if (warnings <= kPrintedWarnings) process.stderr.write(`\nimlm-native: warning: ${message}\n`);
        else if (warnings === kPrintedWarnings + 1) process.stderr.write('imlm-native: further warnings are not printed (skipped files are all listed in the manifest)\n');
      };
      // Ctrl-C, SIGTERM, SIGHUP: remove the half-built temporary store (store.ts names it
      // <out>.tmp-<pid>), exit 128+N (130, 143, 129).
      const handlers = kStopSignals.map((signal) => {
        const handler = () => {
          (display as ProgressDisplay | null)?.stop();
          process.stderr.write(`\nimlm-native: ${signal}: prepare stopped; no store was written\n`);
          rmSync(`${out}.tmp-${process.pid}`, { recursive: true, force: true });
          process.exit(signalExitCode(signal));
        };
        process.once(signal, handler);
        return [signal, handler] as const;
      });
      let manifest;
      try {
        manifest = await prepare(format, source, out, options);
      } finally {
        (display as ProgressDisplay | null)?.stop();
        for (const [signal, handler] of handlers) process.off(signal, handler);
      }
      if (flags.json) {
        process.stdout.write(JSON.stringify(manifest) + '\n');
        return;
      }
      const counts = Object.entries(manifest.splits).map(([name, s]) => `${name} ${s!.count}`).join(', ');
      const notes = [
        manifest.skipped.length > 0 ? `${manifest.skipped.length} skipped` : '',
        manifest.excluded ? `${manifest.excluded.count} excluded (${manifest.excluded.reason})` : '',
      ].filter(Boolean);
      process.stdout.write(
        `prepared ${out}: ${manifest.task}, ${manifest.classes.length} classes, ${manifest.channels}×${manifest.imageSize.join('×')}, ${counts}` +
          `${notes.length ? ` (${notes.join(', ')})` : ''} (${((Date.now() - started) / 1000).toFixed(1)} s)\n`,
      );
    });
}
