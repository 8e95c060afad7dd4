import type { Command } from 'commander';
import { doctor } from '../doctor';

export function registerDoctor(program: Command): void {
  program
    .command('doctor')
    .description('check that this machine can train (addon, LibTorch, CUDA, disk); exit 0 only if all pass')
    .option('--json', 'print the checks as JSON')
    .option('--dir <path>', 'folder whose free disk space is checked', process.cwd())
    .action(async (opts: { json?: boolean; dir: string }) => {
      const checks = await doctor({ dir: opts.dir });
      if (opts.json) {
        process.stdout.write(JSON.stringify(checks, null, 2) + '\n');
      } else {
        for (const c of checks) {
          process.stdout.write(`${c.ok ? 'ok  ' : 'FAIL'}  ${c.name.padEnd(9)} ${c.detail}\n`);
          if (!c.ok && c.fix) process.stdout.write(`      ${''.padEnd(9)} fix: ${c.fix}\n`);
        }
      }
      process.exitCode = checks.every((c) => c.ok) ? 0 : 1;
    });
}
