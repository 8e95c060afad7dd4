// The table of `analyze` commands (lib/analysis/commands.ts) is what the CLI offers: every row is a
// sub-command with its arguments, flags and --json, and carries its function's options schema.
import type { Command } from 'commander';
import { kAnalysisCommands } from '../../lib/analysis/commands';
import { ckaOptionsSchema } from '../../lib/analysis/cka';
import { compareOptionsSchema } from '../../lib/analysis/compare';
import { ksOptionsSchema } from '../../lib/analysis/ks';
import { metricsOptionsSchema } from '../../lib/analysis/metrics';
import { createProgram } from '../../lib/cli/program';

describe('analyze commands', () => {
  const analyze = createProgram().commands.find((c) => c.name() === 'analyze') as Command;

  test('every row is a sub-command of analyze, in table order, and the description names them', () => {
    expect(analyze.commands.map((c) => c.name())).toEqual(kAnalysisCommands.map((c) => c.name));
    expect(analyze.description()).toBe('evaluation analyses on predictions and features files: metrics, compare, ks, cka (docs/evaluation.md)');
  });

  test.each(kAnalysisCommands.map((c) => [c.name, c] as const))('%s: its arguments, its flags and --json', (name, row) => {
    const command = analyze.commands.find((c) => c.name() === name) as Command;
    expect(command.description()).toBe(row.description);
    expect(command.registeredArguments.map((a) => `<${a.name()}>`)).toEqual(row.arguments.map((a) => a.name));
    expect(command.options.map((o) => o.flags)).toEqual([...row.flags.map((f) => f.flags), '--json']);
    for (const flag of row.flags) {
      const option = command.options.find((o) => o.flags === flag.flags);
      expect(option?.defaultValue).toEqual(flag.default);
    }
  });

  test("each row's schema is the options schema of the function it calls", () => {
    const schemas = Object.fromEntries(kAnalysisCommands.map((c) => [c.name, c.schema]));
    expect(schemas).toEqual({ metrics: metricsOptionsSchema, compare: compareOptionsSchema, ks: ksOptionsSchema, cka: ckaOptionsSchema });
  });

  test('a number flag refuses text that is not one, naming the flag', () => {
    const command = analyze.commands.find((c) => c.name() === 'cka') as Command;
    const option = command.options.find((o) => o.long === '--set-size');
    expect(() => option?.parseArg?.('ten', undefined)).toThrow("Expected an integer for --set-size but received 'ten'");
  });
});
