/**
 * IDX files (the MNIST family's format, e.g. Debian's dataset-fashion-mnist), plain or gzipped:
 * a 4-byte magic (0, 0, type, dims), the dims as big-endian uint32, then the data. Only unsigned
 * bytes (type 0x08) occur in image data sets, and only they are accepted.
 */
import { promises as fs } from 'fs';
import { promisify } from 'util';
import { gunzip } from 'zlib';
import { ImlmError } from '../errors';

const gunzipAsync = promisify(gunzip);

export interface IdxArray {
  shape: number[];
  data: Uint8Array;
}

/** Reads and checks one IDX file; ERR_FORMAT names the file and what is wrong. */
export async function readIdx(file: string): Promise<IdxArray> {
  let bytes: Buffer;
  try {
    bytes = await fs.readFile(file);
  } catch (e) {
    throw new ImlmError(`cannot read ${file}: ${(e as Error).message}`, 'ERR_IO');
  }
  if (bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b) {
    try {
      bytes = await gunzipAsync(bytes);
    } catch (e) {
      throw new ImlmError(`${file}: the gzip stream is corrupt or truncated (${(e as Error).message})`, 'ERR_FORMAT');
    }
  }
  if (bytes.length < 4 || bytes[0] !== 0 || bytes[1] !== 0) {
    throw new ImlmError(`${file}: not an IDX file (expected the magic bytes 00 00 <type> <dims>)`, 'ERR_FORMAT');
  }
  if (bytes[2] !== 0x08) {
    throw new ImlmError(`${file}: IDX element type 0x${bytes[2].toString(16)} is not supported (expected 0x08, unsigned bytes)`, 'ERR_FORMAT');
  }
  const dims = bytes[3];
  if (dims < 1 || bytes.length < 4 + 4 * dims) {
    throw new ImlmError(`${file}: IDX header declares ${dims} dimensions but the file ends inside the header`, 'ERR_FORMAT');
  }
  const shape = Array.from({ length: dims }, (_, i) => bytes.readUInt32BE(4 + 4 * i));
  const expected = shape.reduce((a, b) => a * b, 1);
  const data = bytes.subarray(4 + 4 * dims);
  if (data.length !== expected) {
    throw new ImlmError(
      `${file}: shape [${shape.join(', ')}] needs ${expected} bytes of data but the file holds ${data.length} (truncated?)`,
      'ERR_FORMAT',
    );
  }
  return { shape, data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
}
