import type { Command } from 'commander';
import { info, type Info } from '../info';

function formatBytes(bytes: number): string {
  return `${(bytes / 1024 ** 3).toFixed(1)} GiB`;
}

export function formatInfo(i: Info): string {
  const lines = [
    `imlm-native ${i.packageVersion}`,
    `LibTorch    ${i.libtorch.version} (headers ${i.libtorch.headerVersion}, ${i.libtorch.source}) ${i.libtorch.libraryPath}`,
    `CUDA        ${i.cuda.available ? 'available' : `not available: ${i.cuda.reason}`}`,
  ];
  for (const d of i.cuda.devices) {
    lines.push(
      `  cuda:${d.index}    ${d.name}, ${formatBytes(d.totalMemoryBytes)} (${formatBytes(d.freeMemoryBytes)} free), compute capability ${d.computeCapability}`,
    );
  }
  if (i.cuda.cudnnVersion !== null) lines.push(`cuDNN       ${i.cuda.cudnnVersion}`);
  lines.push(`threads     ${i.threads.intraOp} intra-op, ${i.threads.interOp} inter-op`);
  lines.push(`distributed ${i.distributed.backends.length ? `c10d ${i.distributed.backends.join(', ')}` : 'no c10d backend in this build (one process only)'}`);
  lines.push(`build       ${i.build.system} ${i.build.type}, Node-API ${i.build.napiVersion}, ${i.addonPath}`);
  lines.push(`node        ${i.node.version} ${i.node.platform}-${i.node.arch}`);
  return lines.join('\n');
}

export function registerInfo(program: Command): void {
  program
    .command('info')
    .description('print versions, CUDA devices, threads and build of this installation')
    .option('--json', 'print one JSON object')
    .action(async (opts: { json?: boolean }) => {
      const i = await info();
      process.stdout.write((opts.json ? JSON.stringify(i, null, 2) : formatInfo(i)) + '\n');
    });
}
