/**
 * One or more example command lines for every command's --help (after its options). Keyed by the
 * command's path; test/cli/help.test.ts checks that every runnable command has an entry.
 */
import type { Command } from 'commander';

export const kExamples: Record<string, string[]> = {
  prepare: [
    'imlm-native prepare idx /usr/share/datasets/fashion-mnist data/fmnist',
    'imlm-native prepare nih-cxr14 ~/data/nih data/nih --size 224 --seed 0',
  ],
  inspect: ['imlm-native inspect data/fmnist --augment kaku2021-bch --out runs/inspect'],
  train: [
    'imlm-native train                       # the demo: ResNet-18 on Fashion-MNIST, 100 steps',
    'imlm-native train --data data/fmnist --arch resnet18 --stem small --steps 2000 --queue-size 4096 --out runs/fm',
    'imlm-native train --out runs/fm --resume --steps 4000',
  ],
  embed: ['imlm-native embed --checkpoint runs/fm/backbone.safetensors --data data/fmnist --split test --out feats/test.safetensors'],
  'eval linear': ['imlm-native eval linear --checkpoint runs/fm/backbone.safetensors --data data/fmnist --fraction 1 --out runs/lin'],
  'eval probe': ['imlm-native eval probe --checkpoint runs/fm/backbone.safetensors --data data/fmnist --out runs/probe'],
  'eval finetune': [
    'imlm-native eval finetune --checkpoint runs/fm/backbone.safetensors --data data/fmnist --fraction 0.01 --out runs/ft',
    'imlm-native eval finetune --from-scratch --arch resnet18 --stem small --data data/fmnist --out runs/scratch',
  ],
  'eval cka': ['imlm-native eval cka --before runs/fm/backbone.safetensors --after runs/ft/checkpoints/best.safetensors --data data/fmnist'],
  'eval ks': ['imlm-native eval ks runs/ft-1pct runs/ft-100pct'],
  replay: ['imlm-native replay --config config.json --state init.safetensors --batches batches.safetensors --out ours.safetensors'],
  'analyze metrics': ['imlm-native analyze metrics runs/ft/predictions-test.safetensors --resamples 1000'],
  'analyze compare': [
    'imlm-native analyze compare runs/mse/predictions-test.safetensors runs/moco/predictions-test.safetensors',
    'imlm-native analyze compare s0/mse.safetensors,s1/mse.safetensors s0/moco.safetensors,s1/moco.safetensors   # pooled over seeds',
  ],
  'analyze ks': ['imlm-native analyze ks runs/a/predictions-test.safetensors runs/b/predictions-test.safetensors'],
  'analyze cka': ['imlm-native analyze cka feats/before.safetensors feats/after.safetensors --block 4'],
  paper: [
    'imlm-native paper --budget small --seeds 3 --out runs/paper-small   # the demo store; under an hour on 2 cores',
    'imlm-native paper --subset train=5000,val=1000,test=2000 --fractions 0.01,1 --arch resnet18 --stem small --out runs/paper',
  ],
  info: ['imlm-native info --json'],
  doctor: ['imlm-native doctor --dir runs'],
};

function pathOf(command: Command): string {
  const names: string[] = [];
  for (let c: Command | null = command; c?.parent; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

/** Adds "Examples:" to the help of every command of `program` that has examples. */
export function addExamples(program: Command): void {
  const walk = (command: Command) => {
    const lines = kExamples[pathOf(command)];
    if (lines) command.addHelpText('after', `\nExamples:\n${lines.map((l) => `  $ ${l}`).join('\n')}\n`);
    command.commands.forEach(walk);
  };
  program.commands.forEach(walk);
}
