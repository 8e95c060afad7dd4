// Every command's --help ends with examples (lib/cli/examples.ts), and every example names a
// command that exists with options that command has.
import { Command } from 'commander';
import { createProgram } from '../../lib/cli/program';
import { kExamples } from '../../lib/cli/examples';
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
