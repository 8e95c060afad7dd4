// Every command's --help ends with examples (lib/cli/examples.ts), and every example names a
// command that exists with options that command has. Every option that takes a value shows its
// default (lib/cli/default-text.ts), the preset's per preset where the preset decides.
import { Command } from 'commander';
import { createProgram } from '../../lib/cli/program';
import { kExamples } from '../../lib/cli/examples';
import { demoOverlay, presets } from '../../lib/config/train-config';
import { runCli } from '../helpers/run';

function leaves(command: Command, path: string[] = []): Array<{ path: string; command: Command }> {
  const subs = command.commands.filter((c) => c.name() !== 'help');
  if (subs.length === 0) return [{ path: path.join(' '), command }];
  return subs.flatMap((c) => leaves(c, [...path, c.name()]));
}

const all = leaves(createProgram());

test('every runnable command has examples', () => {
  expect(all.map((l) => l.path).filter((p) => !kExamples[p])).toEqual([]);
});

test.each(Object.entries(kExamples))('the examples of %s use its own options', (path, lines) => {
  const found = all.find((l) => l.path === path);
  expect(found).toBeDefined();
  const known = new Set(found!.command.options.flatMap((o) => [o.long, o.short]).filter(Boolean));
  for (const line of lines) {
    expect(line.startsWith(`imlm-native ${path}`)).toBe(true);
    for (const flag of line.replace(/#.*$/, '').match(/(?<=\s)--[a-z0-9-]+/g) ?? []) expect(known).toContain(flag);
  }
});

test('train --help shows the examples (a real process)', async () => {
  const r = await runCli(['train', '--help']);
  expect(r.code).toBe(0);
  expect(r.stdout).toMatch(/Examples:\n {2}\$ imlm-native train/);
});

test.each(all.map((l) => [l.path, l.command] as const))('every option of %s that takes a value shows its default', (_path, command) => {
  const help = command.createHelp();
  const missing = command.options
    .filter((o) => (o.required || o.optional) && !o.mandatory)
    .filter((o) => !/\(default[: ]/.test(help.optionDescription(o)))
    .map((o) => o.long);
  expect(missing).toEqual([]);
});

test('train --help gives the preset-decided defaults per preset, from the presets themselves (a real process)', async () => {
  const r = await runCli(['train', '--help']);
  expect(r.code).toBe(0);
  const text = r.stdout.replace(/\s+/g, ' '); // commander wraps at 80 columns
  const perPreset = (field: (c: (typeof presets)[string]) => unknown) =>
    Object.entries(presets).map(([name, c]) => `${name} ${String(field(c))}`).join(', ');
  expect(text).toContain(`--batch-size <n> images per step (default: from the preset — ${perPreset((c) => c.batchSize)}; the demo run without --data: ${demoOverlay.batchSize})`);
  expect(text).toContain(`--queue-size <n> K, the number of negatives (default: from the preset — ${perPreset((c) => c.queueSize)}; the demo run without --data: ${demoOverlay.queueSize})`);
  expect(text).toContain(`--lr <x> base learning rate (default: from the preset — ${perPreset((c) => c.optimizer.lr)})`);
  expect(text).toContain(`(default: from the preset — ${perPreset((c) => c.totalSteps)}; the demo run without --data: ${demoOverlay.totalSteps})`);
  expect(text).toMatch(/--init-channels <mode> .* refuse \| sum .*\(default: refuse\)/);
});
