// Checkpoints: safetensors files written atomically, read strictly; bad files are refused with a
// code that names the file and the tensor, and nothing good is ever overwritten by a failure.
import { spawn, spawnSync } from 'child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, statSync, truncateSync, writeFileSync } from 'fs';
import os from 'os';
import path from 'path';
import { Trainer, pretrain, readSafetensors, syntheticSource, tensor, writeSafetensors } from '../../lib';
import { tinyConfig } from '../helpers/configs';
import { rejection } from '../helpers/rejection';
import { repoRoot } from '../helpers/run';
import { findTorchPython } from '../helpers/python';

const tmp = () => mkdtempSync(path.join(os.tmpdir(), 'imlm-ckpt-'));
const source = () => syntheticSource({ channels: 3, imageSize: 16, batchSize: 8, poolSize: 32 });

async function savedTrainer(dir: string, steps = 1) {
  const trainer = await Trainer.create(tinyConfig());
  await trainer.run(source(), { steps });
  const file = path.join(dir, 'good.safetensors');
  await trainer.save(file);
  return { trainer, file };
}

/** A safetensors file from raw parts. */
function rawFile(file: string, header: object | string, data: Buffer = Buffer.alloc(0), lengthOverride?: bigint) {
  const json = Buffer.from(typeof header === 'string' ? header : JSON.stringify(header));
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(lengthOverride ?? BigInt(json.length));
  writeFileSync(file, Buffer.concat([length, json, data]));
}

describe('checkpoints', () => {
  test('a saved state loads into a fresh trainer and carries step, config and versions', async () => {
    const dir = tmp();
    const { file } = await savedTrainer(dir, 2);
    const content = await readSafetensors(file);
    expect(content.metadata.format).toBe('imlm-native/train-state');
    expect(JSON.parse(content.metadata.config).arch).toBe('resnet18');
    expect(content.metadata.imlm_native_version).toMatch(/^\d+\.\d+\.\d+/);
    expect(Number((content.tensors.step.toTypedArray() as BigInt64Array)[0])).toBe(2);
    expect(content.tensors['encoder_q.layer1.0.conv1.weight'].shape).toEqual([64, 64, 3, 3]);
    expect(content.tensors['optimizer.momentum_buffer.encoder_q.fc.weight'].shape).toEqual([32, 512]);
    expect(content.tensors['rng.cpu'].dtype).toBe('uint8');
    const fresh = await Trainer.create(tinyConfig());
    await fresh.load(file);
    expect(fresh.stepsCompleted).toBe(2);
  });

  describe('corrupt and wrong files are refused with ERR_FORMAT naming the file and the tensor', () => {
    test('header length beyond the end of the file', async () => {
      const file = path.join(tmp(), 'long.safetensors');
      rawFile(file, '{}', Buffer.alloc(0), 1n << 40n);
      const e = await rejection(readSafetensors(file));
      expect(e.code).toBe('ERR_FORMAT');
      expect(e.message).toContain(file);
      expect(e.message).toMatch(/header length \d+ is beyond the file/);
    });

    test('shorter than the 8-byte length, or a header that is not JSON', async () => {
      const dir = tmp();
      writeFileSync(path.join(dir, 'short.safetensors'), Buffer.from([1, 2, 3]));
      expect((await rejection(readSafetensors(path.join(dir, 'short.safetensors')))).code).toBe('ERR_FORMAT');
      rawFile(path.join(dir, 'json.safetensors'), '{"a": [1, 2');
      const e = await rejection(readSafetensors(path.join(dir, 'json.safetensors')));
      expect(e.code).toBe('ERR_FORMAT');
      expect(e.message).toMatch(/not valid JSON/);
    });

    test('offsets out of range and sizes that disagree with the shape', async () => {
      const dir = tmp();
      rawFile(path.join(dir, 'range.safetensors'), { w: { dtype: 'F32', shape: [4], data_offsets: [0, 16] } }, Buffer.alloc(8));
      const e1 = await rejection(readSafetensors(path.join(dir, 'range.safetensors')));
      expect(e1.code).toBe('ERR_FORMAT');
      expect(e1.message).toMatch(/tensor 'w' ends at byte 16 of a data section of 8 bytes/);
      rawFile(path.join(dir, 'size.safetensors'), { w: { dtype: 'F32', shape: [3], data_offsets: [0, 16] } }, Buffer.alloc(16));
      const e2 = await rejection(readSafetensors(path.join(dir, 'size.safetensors')));
      expect(e2.message).toMatch(/tensor 'w' with shape \[3\] and dtype F32 needs 12 bytes/);
      rawFile(path.join(dir, 'dtype.safetensors'), { w: { dtype: 'Q4', shape: [1], data_offsets: [0, 1] } }, Buffer.alloc(8));
      expect((await rejection(readSafetensors(path.join(dir, 'dtype.safetensors')))).message).toMatch(/unknown dtype 'Q4'/);
    });

    test('a truncated checkpoint', async () => {
      const dir = tmp();
      const { trainer, file } = await savedTrainer(dir);
      truncateSync(file, Math.floor(statSync(file).size / 2));
      const e = await rejection(trainer.load(file));
      expect(e.code).toBe('ERR_FORMAT');
      expect(e.message).toContain(file);
      expect(e.message).toMatch(/tensor '.+' ends at byte \d+ .*truncated/);
    });

    test('a checkpoint of another architecture', async () => {
      const dir = tmp();
      const { file } = await savedTrainer(dir);
      const other = await Trainer.create(tinyConfig({ arch: 'resnet34' }));
      const e = await rejection(other.load(file));
      expect(e.code).toBe('ERR_FORMAT');
      expect(e.message).toContain(file);
      expect(e.message).toMatch(/missing: encoder_[qk]\.layer/);
    });

    test('a tensor of the wrong dtype or shape, and one holding NaN', async () => {
      const dir = tmp();
      const { trainer, file } = await savedTrainer(dir);
      const content = await readSafetensors(file);
      const name = 'encoder_q.layer2.0.conv1.weight';
      const original = content.tensors[name];
      const asDouble = tensor(Float64Array.from(original.toTypedArray() as Float32Array), original.shape);
      await writeSafetensors(path.join(dir, 'f64.safetensors'), { ...content.tensors, [name]: asDouble }, content.metadata);
      const e1 = await rejection(trainer.load(path.join(dir, 'f64.safetensors')));
      expect(e1.code).toBe('ERR_FORMAT');
      expect(e1.message).toMatch(new RegExp(`tensor '${name.replace(/\./g, '\\.')}' should be \\[128, 64, 3, 3\\] Float .* but is \\[128, 64, 3, 3\\] Double`));

      const withNaN = original.toTypedArray() as Float32Array;
      withNaN[17] = NaN;
      await writeSafetensors(path.join(dir, 'nan.safetensors'), { ...content.tensors, [name]: tensor(withNaN, original.shape) }, content.metadata);
      const e2 = await rejection(trainer.load(path.join(dir, 'nan.safetensors')));
      expect(e2.code).toBe('ERR_FORMAT');
      expect(e2.message).toContain(path.join(dir, 'nan.safetensors'));
      expect(e2.message).toContain(`tensor '${name}' holds NaN or infinite values`);
      // A refused load leaves the trainer as it was: it still saves and runs.
      await trainer.run(source(), { steps: 1 });
    });
  });

  test('a save killed mid-write leaves the previous checkpoint loadable', async () => {
    const dir = tmp();
    const file = path.join(dir, 'state.safetensors');
    const child = spawn(process.execPath, [path.join(repoRoot, 'test/fixtures/save-loop.js'), file], { stdio: ['ignore', 'pipe', 'inherit'] });
    let saves = 0;
    await new Promise<void>((resolve) => {
      child.stdout.on('data', (d: Buffer) => {
        saves += d.toString().split('saved').length - 1;
        // Kill during a later save: a ResNet-50 state (~200 MB) takes a while to write.
        if (saves === 1) setTimeout(() => child.kill('SIGKILL'), 150);
      });
      child.on('exit', () => resolve());
    });
    expect(saves).toBeGreaterThanOrEqual(1);
    const content = await readSafetensors(file);
    expect(content.metadata.format).toBe('imlm-native/train-state');
    expect(content.tensors['encoder_q.layer4.2.conv3.weight'].shape).toEqual([2048, 512, 1, 1]);
  });

  test('a save that fails leaves the previous file untouched and reports ERR_IO', async () => {
    const dir = tmp();
    const { trainer, file } = await savedTrainer(dir);
    const before = readFileSync(file);
    // The temp file's name is taken by a folder: the write fails before anything is renamed.
    mkdirSync(`${file}.tmp-${process.pid}`);
    await trainer.run(source(), { steps: 1 });
    const e = await rejection(trainer.save(file));
    expect(e.code).toBe('ERR_IO');
    expect(e.message).toContain(file);
    expect(readFileSync(file).equals(before)).toBe(true);
  });

  test('a NaN loss stops training with a message naming the step; the last good checkpoint stays', async () => {
    const dir = tmp();
    // A learning rate this large blows the weights up after the first update.
    const config = tinyConfig({ optimizer: { lr: 1e12 }, totalSteps: 10 });
    const e = await rejection(pretrain({ config, source: source(), outDir: dir, checkpointEvery: 1 }));
    expect(e.code).toBe('ERR_NON_FINITE');
    // The loss itself, or the weights before a save, went non-finite at some step ≥ 2.
    const step = Number(/(?:at|after) step (\d+)/.exec(e.message)?.[1]);
    expect(step).toBeGreaterThanOrEqual(2);
    expect(e.message).toContain('last good checkpoint');
    const last = path.join(dir, 'checkpoints', 'last.safetensors');
    const resumed = await Trainer.create(config);
    await resumed.load(last); // loadable: no NaN in it
    expect(resumed.stepsCompleted).toBeGreaterThanOrEqual(1);
    expect(resumed.stepsCompleted).toBeLessThan(step);
  });

  test('export writes a torchvision state dict: resnet50().load_state_dict(strict=False) misses only fc.*', async () => {
    const py = findTorchPython();
    if (!py) throw new Error('this test needs PyTorch for Python: apt-get install python3-torch python3-torchvision');
    const dir = tmp();
    const trainer = await Trainer.create(tinyConfig({ arch: 'resnet50', stem: 'standard', imageSize: 32 }));
    const exported = path.join(dir, 'backbone.safetensors');
    await trainer.exportBackbone(exported);
    const check = [
      'import sys, json, torchvision',
      `sys.path.insert(0, ${JSON.stringify(path.join(repoRoot, 'scripts/reference'))})`,
      'import safetensors_io',
      `tensors, meta = safetensors_io.load(${JSON.stringify(exported)})`,
      'r = torchvision.models.resnet50().load_state_dict(tensors, strict=False)',
      'print(json.dumps({"missing": sorted(r.missing_keys), "unexpected": sorted(r.unexpected_keys), "arch": meta.get("arch")}))',
    ].join('\n');
    const out = spawnSync(py.python, ['-c', check], { encoding: 'utf8' });
    expect(out.stderr).toBe('');
    expect(JSON.parse(out.stdout)).toEqual({ missing: ['fc.bias', 'fc.weight'], unexpected: [], arch: 'resnet50' });

    // --init: torchvision-named weights start both encoders of a new trainer.
    const other = await Trainer.create(tinyConfig({ arch: 'resnet50', stem: 'standard', imageSize: 32, seed: 42 }));
    await other.loadBackbone(exported);
    const again = path.join(dir, 'again.safetensors');
    await other.exportBackbone(again);
    const a = await readSafetensors(exported);
    const b = await readSafetensors(again);
    for (const name of ['conv1.weight', 'layer3.4.bn2.running_var', 'layer4.2.conv3.weight']) {
      expect(Buffer.from((b.tensors[name].toTypedArray() as Float32Array).buffer).equals(Buffer.from((a.tensors[name].toTypedArray() as Float32Array).buffer))).toBe(true);
    }
    const e = await rejection(other.loadBackbone(path.join(dir, 'nothing-here.safetensors')));
    expect(e.code).toBe('ERR_IO');
    expect(existsSync(exported)).toBe(true);
  });
});
