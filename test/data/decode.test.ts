// Decoding one image into a store row: geometry (crop / pad), channels, 16-bit PNGs, and DICOM
// (MONOCHROME1/2, signed, rescale, window, refusals).
import { mkdtempSync, writeFileSync } from 'fs';
import os from 'os';
import path from 'path';
import sharp from 'sharp';
import { decodeImageFile, sixteenToEight, type DecodeOptions } from '../../lib/data/decode-image';
import { decodeDicom } from '../../lib/data/dicom-decode';
import { dicomFile, png16, uniformImage } from './fixtures';

const dir = mkdtempSync(path.join(os.tmpdir(), 'imlm-decode-'));
const opts = (o: Partial<DecodeOptions> = {}): DecodeOptions => ({ size: 4, pad: false, channels: 1, depth16: 'range', ...o });

describe('decodeImageFile', () => {
  test('shorter side to size then centre crop; --pad keeps the whole image on black', async () => {
    // 8×4, left half 200, right half 100: the shorter side is already 4, so the centre 4×4 is cut out.
    const file = path.join(dir, 'halves.png');
    const data = Buffer.alloc(8 * 4);
    for (let y = 0; y < 4; y++) for (let x = 0; x < 8; x++) data[y * 8 + x] = x < 4 ? 200 : 100;
    await sharp(data, { raw: { width: 8, height: 4, channels: 1 } }).png().toFile(file);
    const crop = await decodeImageFile(file, opts());
    expect(Array.from(crop.subarray(0, 4))).toEqual([200, 200, 100, 100]);
    const pad = await decodeImageFile(file, opts({ pad: true }));
    // Resized to 4×2, centred vertically in 4×4: rows 0 and 3 black.
    expect(Array.from(pad.subarray(0, 4))).toEqual([0, 0, 0, 0]);
    expect([pad[4], pad[7], pad[8], pad[11]]).toEqual([200, 100, 200, 100]); // (the middle columns blend: antialiased)
    expect(Array.from(pad.subarray(12, 16))).toEqual([0, 0, 0, 0]);
  });

  test('3 channels are planar (C×H×W); a grey image is repeated in each channel', async () => {
    const rgb = path.join(dir, 'rgb.png');
    await uniformImage(rgb, 6, 6, 3, [10, 20, 30]);
    const row = await decodeImageFile(rgb, opts({ channels: 3 }));
    expect([row[0], row[15], row[16], row[31], row[32], row[47]]).toEqual([10, 10, 20, 20, 30, 30]);
    const grey = path.join(dir, 'grey.jpg');
    await uniformImage(grey, 6, 6, 1, 77);
    const g = await decodeImageFile(grey, opts({ channels: 3 }));
    expect(new Set(g)).toEqual(new Set([77]));
  });

  test('a 16-bit PNG keeps its depth through the resize and maps to 8 bits by range (v/257) or per-image min–max', async () => {
    const file = path.join(dir, 'sixteen.png');
    // Left half 1000, right half 4095 (12-bit data in 16 bits).
    writeFileSync(file, png16(4, 4, Array.from({ length: 16 }, (_, i) => (i % 4 < 2 ? 1000 : 4095))));
    expect((await sharp(file).metadata()).depth).toBe('ushort');
    const range = await decodeImageFile(file, opts());
    expect(Array.from(range.subarray(0, 4))).toEqual([4, 4, 16, 16]); // round(1000/257), round(4095/257) — not 3 and 15 (dropping the low byte)
    const minmax = await decodeImageFile(file, opts({ depth16: 'minmax' }));
    expect(Array.from(minmax.subarray(0, 4))).toEqual([0, 0, 255, 255]);
    expect(Array.from(sixteenToEight(Uint16Array.from([0, 128, 32896, 65535]), 'range'))).toEqual([0, 0, 128, 255]);
  });

  test('TIFF decodes too', async () => {
    const file = path.join(dir, 'grey.tif');
    await sharp(Buffer.alloc(36, 123), { raw: { width: 6, height: 6, channels: 1 } }).tiff().toFile(file);
    expect(new Set(await decodeImageFile(file, opts()))).toEqual(new Set([123]));
  });

  test('a corrupt file and a truncated JPEG reject', async () => {
    const file = path.join(dir, 'bad.png');
    writeFileSync(file, 'nope');
    await expect(decodeImageFile(file, opts())).rejects.toThrow(/unsupported image format/);
    const noisy = Buffer.from(Array.from({ length: 64 * 64 * 3 }, (_, i) => (i * 7) % 251));
    const jpeg = await sharp(noisy, { raw: { width: 64, height: 64, channels: 3 } }).jpeg().toBuffer();
    const cut = path.join(dir, 'cut.jpg');
    writeFileSync(cut, jpeg.subarray(0, jpeg.length / 2));
    await expect(decodeImageFile(cut, opts())).rejects.toThrow(/premature end of JPEG/);
  });
});

describe('decodeDicom', () => {
  const ramp = [0, 100, 200, 300];
  test('MONOCHROME2 without a window: min–max of the rescaled values', () => {
    const img = decodeDicom(dicomFile({ rows: 2, columns: 2, values: ramp }));
    expect(img).toMatchObject({ width: 2, height: 2, channels: 1 });
    expect(Array.from(img.pixels)).toEqual([0, 85, 170, 255]);
  });

  test('MONOCHROME1 is inverted', () => {
    const img = decodeDicom(dicomFile({ rows: 2, columns: 2, values: ramp, photometric: 'MONOCHROME1' }));
    expect(Array.from(img.pixels)).toEqual([255, 170, 85, 0]);
  });

  test('signed values with rescale slope/intercept and a window (CT-like)', () => {
    // Stored −1000, 0, 40, 1000 (signed 16-bit); slope 1, intercept −24 → HU −1024, −24, 16, 976.
    // Window centre 40, width 400: [−160, 240) maps linearly to 0..255.
    const img = decodeDicom(dicomFile({ rows: 2, columns: 2, values: [-1000, 0, 40, 1000], signed: true, slope: 1, intercept: -24, windowCentre: 40, windowWidth: 400 }));
    const linear = (x: number) => Math.round(((x - 39.5) / 399 + 0.5) * 255);
    expect(Array.from(img.pixels)).toEqual([0, linear(-24), linear(16), 255]);
  });

  test('8-bit, 12 bits stored in 16, and slope scale the modality values', () => {
    expect(Array.from(decodeDicom(dicomFile({ rows: 1, columns: 3, values: [0, 50, 100], bitsAllocated: 8 })).pixels)).toEqual([0, 128, 255]);
    // Bits above Bits Stored (12) are masked off: 0xF000 | 4095 reads as 4095.
    expect(Array.from(decodeDicom(dicomFile({ rows: 1, columns: 2, values: [0, 0xf000 | 4095], bitsStored: 12 })).pixels)).toEqual([0, 255]);
    // A window on rescaled values: stored 10, 20 with slope 10 → 100, 200; window centre 150, width 100 (≤ 100 → 0, > 199 → 255).
    const w = decodeDicom(dicomFile({ rows: 1, columns: 2, values: [10, 20], slope: 10, windowCentre: 150, windowWidth: 100 }));
    expect(Array.from(w.pixels)).toEqual([0, 255]);
  });

  test('compressed transfer syntaxes, truncated pixel data and non-DICOM files are refused with a reason', () => {
    expect(() => decodeDicom(dicomFile({ rows: 2, columns: 2, values: ramp, transferSyntax: '1.2.840.10008.1.2.4.50' }))).toThrow(
      /transfer syntax 1\.2\.840\.10008\.1\.2\.4\.50 is compressed or big-endian, which is not supported .*gdcmconv/,
    );
    const whole = dicomFile({ rows: 4, columns: 4, values: new Array(16).fill(7) });
    expect(() => decodeDicom(whole.subarray(0, whole.length - 10))).toThrow(/truncated|buffer overrun|not a readable DICOM/);
    expect(() => decodeDicom(Buffer.from('not a dicom file at all'))).toThrow(/not a readable DICOM Part 10 file/);
  });
});
