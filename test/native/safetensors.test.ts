// Reading safetensors by copy and through a memory mapping gives the same tensors and the same
// refusals.
import { mkdtempSync, writeFileSync } from 'fs';
import os from 'os';
import path from 'path';
import { readSafetensors, tensor, writeSafetensors } from '../../lib';

describe('safetensors: copy and memory-mapped reads', () => {
  test('equal content, every dtype, odd offsets included', async () => {
    const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'imlm-st-')), 'a.safetensors');
    // 'a' is 3 bytes, so 'b' (float64) starts at an offset that is not a multiple of 8: it is copied.
    await writeSafetensors(
      file,
      {
        a: tensor(new Uint8Array([1, 2, 3]), [3]),
        b: tensor(new Float64Array([Math.PI, -1]), [2]),
        c: tensor(new Int32Array([7, 8, 9, 10]), [2, 2]),
        d: tensor(new BigInt64Array([5n]), []),
      },
      { note: 'hello' },
    );
    const copied = await readSafetensors(file);
    const mapped = await readSafetensors(file, { mmap: true });
    expect(mapped.metadata).toEqual({ note: 'hello' });
    for (const name of ['a', 'b', 'c', 'd']) {
      expect(mapped.tensors[name].shape).toEqual(copied.tensors[name].shape);
      expect(mapped.tensors[name].dtype).toBe(copied.tensors[name].dtype);
      expect(Buffer.from((mapped.tensors[name].toTypedArray() as Uint8Array).buffer)).toEqual(
        Buffer.from((copied.tensors[name].toTypedArray() as Uint8Array).buffer),
      );
    }
  });

  test('a corrupt file is refused the same way when mapped', async () => {
    const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'imlm-st-')), 'bad.safetensors');
    const length = Buffer.alloc(8);
    length.writeBigUInt64LE(1000n);
    writeFileSync(file, Buffer.concat([length, Buffer.from('{}')]));
    for (const mmap of [false, true]) {
      await expect(readSafetensors(file, { mmap })).rejects.toMatchObject({ code: 'ERR_FORMAT', message: expect.stringContaining('header length 1000 is beyond') });
    }
    await expect(readSafetensors(path.join(path.dirname(file), 'missing.safetensors'), { mmap: true })).rejects.toMatchObject({ code: 'ERR_IO' });
  });
});
