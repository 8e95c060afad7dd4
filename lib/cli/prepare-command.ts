import type { Command } from 'commander';
import { ImlmError } from '../errors';
import { prepareIdx } from '../data/prepare-idx';

const kPlanned = ['nih-cxr14', 'eyepacs-dr', 'bch-idc', 'folder', 'csv', 'unlabeled', 'dicom'];

export function registerPrepare(program: Command): void {
  program
    .command('prepare')
    .description('decode a data set once into a store (manifest.json + safetensors shards) for training')
    .argument('<format>', `source format: idx (MNIST-style IDX files)`)
    .argument('<source>', 'the source folder')
    .argument('<out>', 'the store folder to create')
    .option('--overwrite', 'replace an existing store')
    .option('--val-fraction <x>', 'share of the training images kept for validation', (v) => Number(v), 0.1)
    .option('--seed <n>', 'seed of the validation split', (v) => Number.parseInt(v, 10), 0)
    .option('--json', 'print the manifest as JSON')
    .action(async (format: string, source: string, out: string, flags: { overwrite?: boolean; valFraction: number; seed: number; json?: boolean }) => {
      if (format !== 'idx') {
        const known = kPlanned.includes(format);
        throw new ImlmError(
          known
            ? `format '${format}' is not available in this version yet; available: idx`
            : `Expected a format 'idx' but received '${format}'`,
          known ? 'ERR_NOT_AVAILABLE' : 'ERR_INVALID_ARG',
        );
      }
      const started = Date.now();
      const manifest = await prepareIdx(source, out, { overwrite: flags.overwrite, valFraction: flags.valFraction, seed: flags.seed });
      if (flags.json) {
        process.stdout.write(JSON.stringify(manifest) + '\n');
        return;
      }
      const counts = Object.entries(manifest.splits).map(([name, s]) => `${name} ${s!.count}`).join(', ');
      process.stdout.write(
        `prepared ${out}: ${manifest.classes.length} classes, ${manifest.channels}×${manifest.imageSize.join('×')}, ${counts} ` +
          `(${((Date.now() - started) / 1000).toFixed(1)} s)\n`,
      );
    });
}
