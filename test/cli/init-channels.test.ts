// `train --init` of torchvision's own ImageNet-shaped resnet18 weights (3 input channels) into a
// 1-channel network, as a real process: refused by default with a coded error naming
// `--init-channels sum`, leaving no run folder; with it the run trains from conv1 summed over the
// input channels (read back from the exported backbone).
import { existsSync, mkdtempSync } from 'fs';
import os from 'os';
import path from 'path';
import { readSafetensors } from '../../lib';
import { runCli } from '../helpers/run';
import { channelSum, writeTorchvisionWeights } from '../helpers/torchvision-weights';

const dir = mkdtempSync(path.join(os.tmpdir(), 'imlm-cli-init-'));
const rgb = path.join(dir, 'resnet18-torchvision.safetensors');
// A grey network on the built-in synthetic set: no data set needed.
const grey = ['--arch', 'resnet18', '--stem', 'standard', '--image-size', '32', '--channels', '1', '--batch-size', '8', '--queue-size', '64', '--device', 'cpu', '--steps', '1'];
const env = { IMLM_FASHION_MNIST_DIR: path.join(dir, 'absent'), XDG_CACHE_HOME: path.join(dir, 'cache') };

beforeAll(() => writeTorchvisionWeights(rgb, 'resnet18'));

test('without --init-channels: ERR_INVALID_ARG naming --init-channels sum, and no checkpoint', async () => {
  const out = path.join(dir, 'refused');
  const r = await runCli(['train', ...grey, '--init', rgb, '--out', out], { env });
  expect(r.code).toBe(1);
  expect(r.stderr).toMatch(/ERR_INVALID_ARG: .*conv1\.weight has 3 input channel\(s\) but this network takes 1 .*pass --init-channels sum/);
  expect(r.stderr).not.toMatch(/ERR_TORCH|ERR_INTERNAL/);
  expect(existsSync(out)).toBe(false); // a refused run leaves nothing behind, not even data.json
});

test('--init-channels sum: training starts from conv1 summed over the input channels', async () => {
  const out = path.join(dir, 'summed');
  // lr 1e-20: the one step moves no weight by more than float32 rounding, so the export shows what was loaded.
  const r = await runCli(['train', ...grey, '--lr', '1e-20', '--init', rgb, '--init-channels', 'sum', '--out', out, '--json'], { env });
  expect(r.stderr).not.toMatch(/ERR_/);
  expect(r.code).toBe(0);
  expect(JSON.parse(r.stdout).stepsCompleted).toBe(1);
  const src = (await readSafetensors(rgb)).tensors['conv1.weight'];
  const got = (await readSafetensors(path.join(out, 'backbone.safetensors'))).tensors['conv1.weight'];
  expect(got.shape).toEqual([64, 1, 7, 7]);
  const expected = channelSum(src.toTypedArray() as Float32Array, src.shape);
  const values = got.toTypedArray() as Float32Array;
  let worst = 0;
  for (let i = 0; i < values.length; i++) worst = Math.max(worst, Math.abs(values[i] - expected[i]));
  expect(worst).toBeLessThan(1e-6);
});

test('--init-channels alone, or with an unknown mode, is ERR_INVALID_ARG', async () => {
  const alone = await runCli(['train', ...grey, '--init-channels', 'sum', '--out', path.join(dir, 'alone')], { env });
  expect(alone.code).toBe(1);
  expect(alone.stderr).toMatch(/ERR_INVALID_ARG: --init-channels sum says how to fit --init weights; pass --init <file> too/);
  const bad = await runCli(['train', ...grey, '--init', rgb, '--init-channels', 'mean', '--out', path.join(dir, 'bad')], { env });
  expect(bad.code).toBe(1);
  expect(bad.stderr).toMatch(/ERR_INVALID_ARG: Expected --init-channels refuse \| sum but received 'mean'/);
});
