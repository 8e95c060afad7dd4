/** A small MNIST-layout folder: 40 train and 8 test images of 16×16 in 4 classes (IDX files). */
import { mkdirSync, writeFileSync } from 'fs';
import path from 'path';

export function writeIdxFolder(dir: string): void {
  mkdirSync(dir, { recursive: true });
  const idx = (shape: number[], data: Uint8Array) => {
    const header = Buffer.alloc(4 + 4 * shape.length);
    header[2] = 0x08;
    header[3] = shape.length;
    shape.forEach((d, i) => header.writeUInt32BE(d, 4 + 4 * i));
    return Buffer.concat([header, Buffer.from(data)]);
  };
  writeFileSync(path.join(dir, 'train-images-idx3-ubyte'), idx([40, 16, 16], Uint8Array.from({ length: 40 * 256 }, (_, i) => (i * 31) % 251)));
  writeFileSync(path.join(dir, 'train-labels-idx1-ubyte'), idx([40], Uint8Array.from({ length: 40 }, (_, i) => i % 4)));
  writeFileSync(path.join(dir, 't10k-images-idx3-ubyte'), idx([8, 16, 16], Uint8Array.from({ length: 8 * 256 }, (_, i) => (i * 17) % 251)));
  writeFileSync(path.join(dir, 't10k-labels-idx1-ubyte'), idx([8], Uint8Array.from({ length: 8 }, (_, i) => i % 4)));
}
