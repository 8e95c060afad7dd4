/**
 * The logs of a run folder, written at every report step (docs/formats.md, "Run folder"):
 * `metrics.jsonl` (the full record, one JSON object per line), `metrics.csv` (the scalars, one
 * column each, for spreadsheets and pandas) and a TensorBoard event file (the same scalars).
 *
 * On resume the JSONL and CSV files are cut back to the checkpoint's step first (rows of steps
 * that the resumed run will redo would otherwise appear twice), and a new event file is started
 * (TensorBoard shows the latest value of a repeated step). A new run starts all three afresh.
 */
import { existsSync, promises as fs } from 'fs';
import path from 'path';
import { writeFileAtomic } from '../atomic-write';
import { ImlmError } from '../errors';
import { TensorBoardWriter } from './tensorboard';

export interface RunLogOptions {
  /** Continue the logs of a resumed run: rows after `stepsCompleted` are removed first. */
  resume?: { stepsCompleted: number };
  /** The CSV's scalar columns, in order (a row lacking one leaves its cell empty). */
  columns: readonly string[];
}

const csvCell = (v: number | string | undefined) => (v === undefined || (typeof v === 'number' && Number.isNaN(v)) ? '' : String(v));

async function keepRowsUpTo(file: string, step: number, rowStep: (line: string) => number | null, header: boolean): Promise<void> {
  if (!existsSync(file)) return;
  const lines = (await fs.readFile(file, 'utf8')).split('\n').filter((l) => l.trim() !== '');
  const kept = lines.filter((l, i) => (header && i === 0) || (rowStep(l) ?? Infinity) <= step);
  await writeFileAtomic(file, kept.map((l) => l + '\n').join(''));
}

export class RunLog {
  // Reports arrive synchronously (from native progress callbacks): their writes are chained so that
  // they land in order; flush() waits for them and throws the first I/O error.
  private pending: Promise<void> = Promise.resolve();

  private constructor(
    private readonly jsonl: string,
    private readonly csv: string,
    private readonly columns: readonly string[],
    private readonly tensorboard: TensorBoardWriter,
  ) {}

  /** `dir` must exist. */
  static async open(dir: string, options: RunLogOptions): Promise<RunLog> {
    const jsonl = path.join(dir, 'metrics.jsonl');
    const csv = path.join(dir, 'metrics.csv');
    const header = ['step', 'time', ...options.columns].join(',');
    if (options.resume) {
      const upTo = options.resume.stepsCompleted;
      await keepRowsUpTo(jsonl, upTo, (l) => {
        try {
          return (JSON.parse(l) as { step: number }).step;
        } catch {
          return null; // a torn last line of a killed run
        }
      }, false);
      await keepRowsUpTo(csv, upTo, (l) => Number(l.split(',')[0]), true);
      if (existsSync(csv)) {
        const first = (await fs.readFile(csv, 'utf8')).split('\n')[0];
        if (first !== header) {
          throw new ImlmError(`${csv} has the columns ${first} but this run writes ${header}; move metrics.csv aside to resume`, 'ERR_FORMAT');
        }
      }
    }
    if (!options.resume) {
      // A new run: what an abandoned run (one that never saved a checkpoint) left here goes.
      await fs.rm(jsonl, { force: true });
      await fs.rm(csv, { force: true });
      for (const name of await fs.readdir(dir)) if (name.startsWith('events.out.tfevents.')) await fs.rm(path.join(dir, name), { force: true });
    }
    if (!existsSync(csv)) await fs.writeFile(csv, header + '\n');
    return new RunLog(jsonl, csv, options.columns, await TensorBoardWriter.create(dir));
  }

  /** Queues one report for `write`, after those queued before it (see flush). */
  enqueue(step: number, record: object, scalars: Record<string, number>): void {
    this.pending = this.pending.then(() => this.write(step, record, scalars));
  }

  /** Waits for the queued reports; rejects with the first write's error. */
  flush(): Promise<void> {
    return this.pending;
  }

  /** Appends one report now: `record` to metrics.jsonl, `scalars` to metrics.csv and TensorBoard. */
  async write(step: number, record: object, scalars: Record<string, number>): Promise<void> {
    const time = new Date().toISOString();
    try {
      await fs.appendFile(this.jsonl, JSON.stringify({ ...record, step, time }) + '\n');
      await fs.appendFile(this.csv, [step, time, ...this.columns.map((c) => scalars[c])].map(csvCell).join(',') + '\n');
    } catch (e) {
      throw new ImlmError(`could not append to the run's metrics (${(e as Error).message}); check that the run folder is writable`, 'ERR_IO', { cause: e });
    }
    await this.tensorboard.scalars(step, scalars);
  }

  get eventFile(): string {
    return this.tensorboard.file;
  }
}
