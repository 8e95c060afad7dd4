import type { Command } from 'commander';
import { replay } from '../train/replay';

export function registerReplay(program: Command): void {
  program
    .command('replay')
    .description('run the steps of a batches file from a training state and write per-step losses and the final state (parity checks; docs/formats.md)')
    .requiredOption('--config <file>', 'the resolved configuration (JSON)')
    .requiredOption('--state <file>', 'training state (safetensors)')
    .requiredOption('--batches <file>', 'q, k float32 [S, N, C, H, W] (safetensors)')
    .requiredOption('--out <file>', 'output (safetensors)')
    .option('--json', 'print the per-step losses as one JSON object')
    .action(async (flags: { config: string; state: string; batches: string; out: string; json?: boolean }) => {
      const steps = await replay(flags);
      if (flags.json) {
        process.stdout.write(JSON.stringify({ out: flags.out, steps }) + '\n');
      } else {
        for (const s of steps) {
          process.stdout.write(`step ${s.step}: loss ${s.loss.toFixed(6)} infonce ${s.infoNce.toFixed(6)} blocks ${s.blocks.map((b) => b.toExponential(4)).join(' ')}\n`);
        }
      }
    });
}
