import type { Command } from 'commander';
import { embed } from '../eval/features';
import { kProbeDefaults } from '../eval/options';
import { defaultText } from './default-text';
import type { SplitName } from '../data/store';
import { ImlmError } from '../errors';
import { readManifest } from '../data/store';
import { abortOnSigint, checkInputFile, checkOutputFile, choice, intFlag } from './flags';
import { evalDistOptions, rankDevice, runEvalRank, type DistFlags, type EvalRank } from './dist-flags';
import { ProgressDisplay } from './progress';

interface EmbedFlags extends DistFlags {
  checkpoint: string;
  data: string;
  split: string;
  out: string;
  batchSize?: number;
  imageSize?: number;
  device: string;
  threads?: number;
  json?: boolean;
}

/** One process's part of `embed`: alone, all of it; as a rank, its shard (rank 0 writes and reports). */
async function embedAsRank(flags: EmbedFlags, { group, dist, lead }: EvalRank): Promise<void> {
  const controller = new AbortController();
  const removeSigint = abortOnSigint(controller, 'embedding');
  let display: ProgressDisplay | null = null;
  try {
    const result = await embed({
      checkpoint: flags.checkpoint,
      store: flags.data,
      split: flags.split as SplitName,
      out: flags.out,
      batchSize: flags.batchSize,
      imageSize: flags.imageSize,
      device: dist ? await rankDevice(flags.device, dist) : flags.device,
      threads: flags.threads,
      signal: controller.signal,
      group: group ?? undefined,
      onProgress: (p) => {
        display ??= new ProgressDisplay(p.total, '{bar} {value}/{total} images | ETA {eta_formatted}');
        display.update({ value: p.done, fields: {} });
      },
    });
    (display as ProgressDisplay | null)?.stop();
    if (!lead) return; // only rank 0 reports (it wrote the file)
    if (flags.json) {
      process.stdout.write(JSON.stringify(result) + '\n');
    } else {
      process.stdout.write(
        `features of ${result.count} ${result.split} images (${result.arch}, blocks ${result.blockChannels.join('/')}` +
          `${result.embeddingDim ? `, embedding ${result.embeddingDim}` : ', no head'}) in ${result.seconds.toFixed(1)} s: ${result.out}\n`,
      );
    }
  } finally {
    (display as ProgressDisplay | null)?.stop();
    removeSigint();
  }
}

export function registerEmbed(program: Command): void {
  const command = program
    .command('embed')
    .description('write the features of a frozen network (pooled blocks 1–4, the embedding) for one split of a store')
    .requiredOption('--checkpoint <file>', "a run's checkpoints/last.safetensors, its backbone.safetensors or a fine-tuned checkpoint")
    .requiredOption('--data <store>', 'a prepared data set (imlm-native prepare)')
    .option('--split <name>', 'train | val | test', choice('--split', ['train', 'val', 'test']), 'test')
    .requiredOption('--out <file>', 'the features file to write (.safetensors; rank 0 writes it)')
    .option('--batch-size <n>', `images per forward ${defaultText(kProbeDefaults.featureBatchSize)}`, intFlag('--batch-size', 1))
    .option('--image-size <n>', 'resize to this side first (default: the size the checkpoint trained at, else the store\'s)', intFlag('--image-size', 8))
    .option('--device <d>', 'auto | cpu | cuda | cuda:N', 'auto')
    .option('--threads <n>', 'intra-op CPU threads (default one per core)', intFlag('--threads', 1))
    .option('--json', 'print the result as one JSON object');
  evalDistOptions(command).action(async (flags: EmbedFlags) => {
    if (!['train', 'val', 'test'].includes(flags.split)) {
      throw new ImlmError(`Expected --split train, val or test but received '${flags.split}'`, 'ERR_INVALID_ARG');
    }
    checkInputFile('--checkpoint', flags.checkpoint);
    checkOutputFile('--out', flags.out);
    await readManifest(flags.data);
    await runEvalRank(flags, (rank) => embedAsRank(flags, rank));
  });
}
