// --init of ImageNet-shaped (3-channel) torchvision weights into a 1-channel network, through
// the API: refused by default with a coded error that names the fix; with initChannels 'sum'
// conv1 is the source's conv1 summed over its input channels and every other tensor is the
// source's. The file is torchvision's own resnet18 state dict (test/helpers/torchvision-weights.ts).
import { existsSync, mkdtempSync } from 'fs';
import os from 'os';
import path from 'path';
import { Trainer, pretrain, readSafetensors, syntheticSource } from '../../lib';
import { tinyConfig } from '../helpers/configs';
import { rejection } from '../helpers/rejection';
import { channelSum, writeTorchvisionWeights } from '../helpers/torchvision-weights';

const dir = mkdtempSync(path.join(os.tmpdir(), 'imlm-init-channels-'));
const rgb = path.join(dir, 'resnet18-torchvision.safetensors');
const grey = tinyConfig({ arch: 'resnet18', stem: 'standard', imageSize: 32, inChannels: 1 });

beforeAll(() => writeTorchvisionWeights(rgb, 'resnet18'));

const floats = (t: { toTypedArray(): unknown }) => t.toTypedArray() as Float32Array;

test('3-channel weights into a 1-channel network: refused by default, naming --init-channels sum', async () => {
  const trainer = await Trainer.create(grey);
  const e = await rejection(trainer.loadBackbone(rgb));
  expect(e.code).toBe('ERR_INVALID_ARG');
  expect(e.message).toMatch(/conv1\.weight has 3 input channel\(s\) but this network takes 1/);
  expect(e.message).toMatch(/--init-channels sum \(API: initChannels: 'sum'\)/);
  expect(e.message).toContain(rgb);
});

test("initChannels 'sum': conv1 is the channel-sum of the source, every other tensor the source's", async () => {
  const trainer = await Trainer.create(grey);
  await trainer.loadBackbone(rgb, { initChannels: 'sum' });
  const out = path.join(dir, 'loaded.safetensors');
  await trainer.exportBackbone(out);
  const src = await readSafetensors(rgb);
  const ours = await readSafetensors(out);
  expect(src.tensors['conv1.weight'].shape).toEqual([64, 3, 7, 7]);
  expect(ours.tensors['conv1.weight'].shape).toEqual([64, 1, 7, 7]);
  const expected = channelSum(floats(src.tensors['conv1.weight']), src.tensors['conv1.weight'].shape);
  const got = floats(ours.tensors['conv1.weight']);
  expect(got.length).toBe(expected.length);
  let worst = 0;
  for (let i = 0; i < got.length; i++) worst = Math.max(worst, Math.abs(got[i] - expected[i]));
  expect(worst).toBeLessThan(1e-6); // float32 rounding of a 3-term sum, whatever its order
  expect(Array.from(floats(ours.tensors['layer4.1.conv2.weight']))).toEqual(Array.from(floats(src.tensors['layer4.1.conv2.weight'])));
  expect(Array.from(floats(ours.tensors['bn1.running_var']))).toEqual(Array.from(floats(src.tensors['bn1.running_var'])));
});

test("initChannels 'sum' leaves weights that already fit as they are; 1-channel weights into an RGB network stay refused", async () => {
  const rgbTrainer = await Trainer.create(tinyConfig({ arch: 'resnet18', stem: 'standard', imageSize: 32, inChannels: 3 }));
  await rgbTrainer.loadBackbone(rgb, { initChannels: 'sum' });
  const out = path.join(dir, 'rgb.safetensors');
  await rgbTrainer.exportBackbone(out);
  const src = await readSafetensors(rgb);
  expect(Array.from(floats((await readSafetensors(out)).tensors['conv1.weight']))).toEqual(Array.from(floats(src.tensors['conv1.weight'])));
  // The grey network's own export (1 channel) cannot start an RGB one: no adaptation exists.
  const greyFile = path.join(dir, 'grey.safetensors');
  const greyTrainer = await Trainer.create(grey);
  await greyTrainer.exportBackbone(greyFile);
  const e = await rejection(rgbTrainer.loadBackbone(greyFile, { initChannels: 'sum' }));
  expect(e.code).toBe('ERR_INVALID_ARG');
  expect(e.message).toMatch(/conv1\.weight has 1 input channel\(s\) but this network takes 3.*--channels 1/);
});

test('a bad initChannels value is ERR_INVALID_ARG naming the choices', async () => {
  const trainer = await Trainer.create(grey);
  const e = await rejection(trainer.loadBackbone(rgb, { initChannels: 'mean' as 'sum' }));
  expect(e.code).toBe('ERR_INVALID_ARG');
  expect(e.message).toMatch(/initChannels.*'refuse', 'sum'/);
});

test('pretrain: refused init leaves no run folder behind; initChannels sum trains from the summed weights', async () => {
  const source = () => syntheticSource({ channels: 1, imageSize: 32, batchSize: 8, poolSize: 16 });
  const refusedDir = path.join(dir, 'refused');
  const e = await rejection(pretrain({ config: grey, source: source(), outDir: refusedDir, steps: 1, init: rgb }));
  expect(e.code).toBe('ERR_INVALID_ARG');
  expect(e.message).toMatch(/--init-channels sum/);
  expect(existsSync(refusedDir)).toBe(false);

  const runDir = path.join(dir, 'run');
  const r = await pretrain({ config: { ...grey, optimizer: { ...grey.optimizer, lr: 1e-20, weightDecay: 0 } }, source: source(), outDir: runDir, steps: 1, init: rgb, initChannels: 'sum' });
  expect(r.stepsCompleted).toBe(1);
  const src = await readSafetensors(rgb);
  const expected = channelSum(floats(src.tensors['conv1.weight']), src.tensors['conv1.weight'].shape);
  const got = floats((await readSafetensors(r.backbone!)).tensors['conv1.weight']);
  // One step at lr 1e-20 moves no weight by more than float32 rounding.
  for (let i = 0; i < got.length; i++) expect(Math.abs(got[i] - expected[i])).toBeLessThan(1e-6);
});
