'use strict';
// The fuzzer's seed files, written by the package's own code (dist/, built by `npm run
// build:ts`): a checkpoint-like state with every dtype the writer knows, a store shard written
// by ShardWriter (as `imlm-native prepare` writes them), and a features-like file. Their bytes
// do not depend on time or machine, so a seed and case number replay the same file.
const fs = require('fs');
const path = require('path');

const dist = path.resolve(__dirname, '..', '..', 'dist');

/** A file with the dtypes JS cannot create (BF16, F16, I16, I8), crafted by hand and then re-written by the package. */
function halfDtypesFile(file) {
  const header = {
    'half.bf16': { dtype: 'BF16', shape: [2, 2], data_offsets: [0, 8] },
    'half.f16': { dtype: 'F16', shape: [3], data_offsets: [8, 14] },
    'int.i16': { dtype: 'I16', shape: [2], data_offsets: [14, 18] },
    'int.i8': { dtype: 'I8', shape: [3], data_offsets: [18, 21] },
  };
  const json = Buffer.from(JSON.stringify(header));
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(json.length));
  const data = Buffer.from([0x80, 0x3f, 0x20, 0xc0, 0xcd, 0x3d, 0x80, 0x7f, 0x00, 0x3c, 0x00, 0xc1, 0xff, 0x7b, 0xd4, 0xfe, 0xff, 0x7f, 0x80, 0x00, 0x7f]);
  fs.writeFileSync(file, Buffer.concat([length, json, data]));
}

async function writeSeeds(dir) {
  const { tensor, readSafetensors, writeSafetensors } = require(dist);
  const { ShardWriter } = require(path.join(dist, 'data', 'shard-writer'));
  fs.mkdirSync(dir, { recursive: true });
  const seq = (n, f) => Array.from({ length: n }, (_, i) => f(i));

  // 1. checkpoint-like: weights, buffers, a step, a generator state, metadata with a config.
  const half = path.join(dir, 'half.tmp');
  halfDtypesFile(half);
  const halves = await readSafetensors(half);
  const checkpoint = {
    'encoder_q.conv1.weight': tensor(Float32Array.from(seq(2 * 1 * 3 * 3, (i) => Math.sin(i))), [2, 1, 3, 3]),
    'encoder_q.bn1.running_mean': tensor(new Float32Array([0.5, -0.25]), [2]),
    'encoder_q.bn1.num_batches_tracked': tensor(new BigInt64Array([12n]), []),
    'encoder_q.fc.weight': tensor(Float64Array.from(seq(6, (i) => i / 7)), [3, 2]),
    queue: tensor(Float32Array.from(seq(4 * 5, (i) => i - 10)), [4, 5]),
    queue_ptr: tensor(new BigInt64Array([3n]), [1]),
    step: tensor(new BigInt64Array([100n]), []),
    'rng.cpu': tensor(Uint8Array.from(seq(37, (i) => (i * 37) & 255)), [37]),
    'amp.growth_tracker': tensor(new Int32Array([5]), [1]),
    mask: tensor(new Uint8Array([1, 0, 1]), [3], { dtype: 'bool' }),
    empty: tensor(new Float32Array(0), [0, 4]),
    ...halves.tensors,
  };
  await writeSafetensors(path.join(dir, 'checkpoint.safetensors'), checkpoint, {
    format: 'imlm-native/train-state',
    format_version: '1',
    config: JSON.stringify({ arch: 'resnet18', stem: 'small', batchSize: 4, queueSize: 5 }),
  });
  for (const t of Object.values(checkpoint)) t.dispose();
  fs.rmSync(half);

  // 2. a store shard (5 rows of 1×3×3 images, class labels, patients), as prepare writes it.
  const shard = path.join(dir, 'shard.safetensors');
  const writer = await ShardWriter.create(shard, 6, { channels: 1, height: 3, width: 3, labelWidth: null }, { format: 'imlm-native/dataset-shard', split: 'train' });
  for (const slot of [0, 1, 2, 4, 5]) await writer.writeRow(slot, new Uint8Array(9).fill(slot * 40));
  const kept = [0, 1, 2, 4, 5];
  await writer.finish(kept, BigInt64Array.from(kept, BigInt), BigInt64Array.from(kept, (k) => BigInt(k % 2)), BigInt64Array.from(kept, (k) => BigInt(k >> 1)));

  // 3. features-like: ids, labels, pooled blocks, an embedding.
  const n = 3;
  const features = {
    ids: tensor(BigInt64Array.from(seq(n, BigInt)), [n]),
    labels: tensor(Uint8Array.from(seq(n * 2, (i) => i % 2)), [n, 2]),
    block1: tensor(Float32Array.from(seq(n * 4, (i) => i * 0.5)), [n, 4]),
    block4: tensor(Float32Array.from(seq(n * 8, (i) => -i)), [n, 8]),
    embedding: tensor(Float32Array.from(seq(n * 3, (i) => 1 / (i + 1))), [n, 3]),
  };
  await writeSafetensors(path.join(dir, 'features.safetensors'), features, {
    format: 'imlm-native/features',
    format_version: '1',
    task: 'multilabel',
    classes: JSON.stringify(['a', 'b']),
  });
  for (const t of Object.values(features)) t.dispose();

  return ['checkpoint', 'shard', 'features'].map((name) => {
    const file = path.join(dir, `${name}.safetensors`);
    return { name, file, bytes: fs.readFileSync(file) };
  });
}

/** Seeds already written to `dir` (by writeSeeds). */
function readSeeds(dir) {
  return ['checkpoint', 'shard', 'features'].map((name) => {
    const file = path.join(dir, `${name}.safetensors`);
    return { name, file, bytes: fs.readFileSync(file) };
  });
}

module.exports = { writeSeeds, readSeeds };
