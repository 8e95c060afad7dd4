/**
 * `imlm-native analyze <name>`: one sub-command per row of lib/analysis/commands.ts (the
 * evaluation analyses on predictions and features files). `--json` prints exactly one JSON
 * object (fields in docs/cli.md), else a table.
 */
import type { Command } from 'commander';
import { ImlmError } from '../errors';
import { kAnalysisCommands, type AnalysisCommand, type AnalysisFlag } from '../analysis/commands';

function parseNumber(flag: string, integer: boolean) {
  return (text: string): number => {
    const value = Number(text);
    if (text.trim() === '' || !Number.isFinite(value) || (integer && !Number.isInteger(value))) {
      throw new ImlmError(`Expected ${integer ? 'an integer' : 'a number'} for ${flag} but received '${text}'`, 'ERR_INVALID_ARG');
    }
    return value;
  };
}

function addFlag(command: Command, flag: AnalysisFlag): void {
  if (flag.parse) command.option(flag.flags, flag.description, parseNumber(flag.flags.split(' ')[0], flag.parse === 'integer'), flag.default);
  else command.option(flag.flags, flag.description, flag.default);
}

function addCommand(analyze: Command, spec: AnalysisCommand): void {
  const command = analyze.command(spec.name).description(spec.description);
  for (const argument of spec.arguments) command.argument(argument.name, argument.description);
  for (const flag of spec.flags) addFlag(command, flag);
  command.option('--json', 'print one JSON object').action(async (...params: unknown[]) => {
    const args = params.slice(0, spec.arguments.length) as string[];
    const flags = params[spec.arguments.length] as Record<string, unknown>;
    process.stdout.write((await spec.run(args, flags)) + '\n');
  });
}

export function registerAnalyze(program: Command): void {
  const names = kAnalysisCommands.map((c) => c.name).join(', ');
  const analyze = program.command('analyze').description(`evaluation analyses on predictions and features files: ${names} (docs/evaluation.md)`);
  for (const spec of kAnalysisCommands) addCommand(analyze, spec);
}
