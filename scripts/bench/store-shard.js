'use strict';
// A store-like shard for the benchmarks: `images` uint8 [M, C, S, S] written with the package's
// own writer and read back memory-mapped, as a store's shard is read when training.
const path = require('path');

/** Writes dir/name and returns its images tensor, memory-mapped; `fill(bytes)` sets the pixels. */
async function mappedImages(api, dir, name, shape, fill) {
  const file = path.join(dir, name);
  const bytes = new Uint8Array(shape.reduce((a, b) => a * b, 1));
  fill(bytes);
  await api.writeSafetensors(file, { images: api.tensor(bytes, shape, { dtype: 'uint8' }) });
  const { tensors } = await api.readSafetensors(file, { mmap: true });
  return tensors.images;
}

module.exports = { mappedImages };
