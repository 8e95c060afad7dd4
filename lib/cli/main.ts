/** Entry point of the `imlm-native` command (bin/imlm-native.js calls main). */
import { createProgram } from './program';
import { CommanderError } from 'commander';
import { reportAndExit } from './errors';

export async function main(argv: string[]): Promise<void> {
  try {
    await createProgram().parseAsync(argv);
  } catch (error) {
    // --help, --version and a bare command (help printed) end here too, with commander's code.
    if (error instanceof CommanderError && ['commander.helpDisplayed', 'commander.help', 'commander.version'].includes(error.code)) process.exit(error.exitCode);
    reportAndExit(error);
  }
}
