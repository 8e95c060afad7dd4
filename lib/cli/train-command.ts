import type { Command } from 'commander';
import { ImlmError } from '../errors';

export function registerTrain(program: Command): void {
  program
    .command('train')
    .description('pre-train an encoder (MoCo v2 + intermediate-layer loss)')
    .allowUnknownOption(true)
    .action(() => {
      throw new ImlmError(
        'training is not available in this version yet (the training engine is being built); ' +
          'run `npx imlm-native info` or `npx imlm-native doctor` to check the installation',
        'ERR_NOT_AVAILABLE',
      );
    });
}
