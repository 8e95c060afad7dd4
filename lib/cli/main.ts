/** Entry point of the `imlm-native` command (bin/imlm-native.js calls main). */
import { createProgram } from './program';
import { reportAndExit } from './errors';

export async function main(argv: string[]): Promise<void> {
  try {
    await createProgram().parseAsync(argv);
  } catch (error) {
    reportAndExit(error);
  }
}
