/** The commander program: one sub-command per file, wired here. */
import { Command } from 'commander';
import { packageVersion } from '../version';
import { registerInfo } from './info-command';
import { registerDoctor } from './doctor-command';
import { registerTrain } from './train-command';
import { registerReplay } from './replay-command';
import { registerPrepare } from './prepare-command';
import { registerInspect } from './inspect-command';
import { registerAnalyze } from './analyze-command';
import { registerEmbed } from './embed-command';
import { registerEval } from './eval-command';
import { registerPaper } from './paper-command';
import { registerEvalCompare } from './eval-compare-command';
import { addExamples } from './examples';

export function createProgram(): Command {
  const program = new Command('imlm-native')
    .description(
      'Pre-train medical-image encoders with MoCo v2 + intermediate-layer losses (Kaku et al., NeurIPS 2021) on LibTorch, and evaluate them.',
    )
    .version(packageVersion, '-V, --version', 'print the package version')
    .configureHelp({ sortSubcommands: false })
    // Usage errors are thrown (CommanderError) and reported by lib/cli/errors.ts as one coded
    // line; every sub-command inherits both settings (they are set before the commands exist).
    .exitOverride()
    .configureOutput({ outputError: () => {} });
  registerPrepare(program);
  registerInspect(program);
  registerTrain(program);
  registerEmbed(program);
  registerEval(program);
  registerEvalCompare(program);
  registerReplay(program);
  registerAnalyze(program);
  registerPaper(program);
  registerInfo(program);
  registerDoctor(program);
  addExamples(program);
  return program;
}
