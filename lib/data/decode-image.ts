/**
 * Decoding one image into the store's row layout: C×H×W bytes at the store's size. sharp (libvips)
 * decodes PNG/JPEG/TIFF/WebP on libuv's thread pool, so many images decode at once and the event
 * loop stays free; only the final 8-bit mapping and the HWC→CHW reordering of one small image
 * happen here.
 *
 * Geometry: the shorter side is resized to `size` and the centre cropped (torchvision's
 * Resize + CenterCrop), or with `pad` the longer side is resized and the rest filled with black.
 * Resampling is bilinear with antialiasing (libvips' reduce), as PIL's bilinear resize.
 *
 * 16-bit images (e.g. 16-bit PNG radiographs) are resized at 16 bits and then mapped to 8 bits
 * explicitly — never by dropping the low byte: 'range' maps the full 16-bit range linearly
 * (round(v / 257), so 65535 → 255 and intensities stay comparable between images); 'minmax'
 * stretches each image's own minimum..maximum to 0..255 (for 10–12-bit data stored in 16 bits).
 */
import type { Sharp } from 'sharp';
import { loadSharp } from '../lazy-modules';
import { ImlmError } from '../errors';

export interface DecodeOptions {
  size: number;
  pad: boolean;
  channels: 1 | 3;
  depth16: 'range' | 'minmax';
}

/** A raw image handed in already decoded (DICOM): 8-bit, interleaved. */
export interface RawImage {
  width: number;
  height: number;
  channels: 1 | 3;
  pixels: Uint8Array;
}

/** Maps a resized 16-bit image to 8 bits (see the file comment). */
export function sixteenToEight(values: Uint16Array, mode: DecodeOptions['depth16']): Uint8Array {
  const out = new Uint8Array(values.length);
  let lo = 0;
  let range = 65535;
  if (mode === 'minmax') {
    let min = 65535;
    let max = 0;
    for (const v of values) {
      if (v < min) min = v;
      if (v > max) max = v;
    }
    if (max > min) {
      lo = min;
      range = max - min;
    }
  }
  // Multiply before dividing: exact for the halfway cases (v·255/65535 = v/257).
  for (let i = 0; i < values.length; i++) out[i] = Math.round(((values[i] - lo) * 255) / range);
  return out;
}

/** HWC (sharp's raw output) → CHW (the store's rows). */
function toPlanar(hwc: Uint8Array, channels: number): Uint8Array {
  if (channels === 1) return hwc;
  const pixels = hwc.length / channels;
  const out = new Uint8Array(hwc.length);
  for (let c = 0; c < channels; c++) {
    const plane = out.subarray(c * pixels, (c + 1) * pixels);
    for (let p = 0, q = c; p < pixels; p++, q += channels) plane[p] = hwc[q];
  }
  return out;
}

async function run(image: Sharp, sixteen: boolean, options: DecodeOptions): Promise<Uint8Array> {
  const { size, pad, channels } = options;
  image = image
    .resize(size, size, pad ? { fit: 'contain', background: { r: 0, g: 0, b: 0, alpha: 1 }, kernel: 'linear' } : { fit: 'cover', position: 'centre', kernel: 'linear' })
    .removeAlpha()
    .toColourspace(channels === 1 ? (sixteen ? 'grey16' : 'b-w') : sixteen ? 'rgb16' : 'srgb');
  const { data, info } = await image.raw(sixteen ? { depth: 'ushort' } : {}).toBuffer({ resolveWithObject: true });
  if (info.width !== size || info.height !== size || info.channels !== channels) {
    throw new ImlmError(`decoded to ${info.width}×${info.height}×${info.channels}, expected ${size}×${size}×${channels}`, 'ERR_FORMAT');
  }
  const eight = sixteen ? sixteenToEight(new Uint16Array(data.buffer, data.byteOffset, data.length / 2), options.depth16) : new Uint8Array(data.buffer, data.byteOffset, data.length);
  return toPlanar(eight, channels);
}

/** Decodes an image file into C×H×W bytes; rejects (with sharp's reason) on a corrupt or truncated file. */
export async function decodeImageFile(file: string, options: DecodeOptions): Promise<Uint8Array> {
  // failOn 'truncated': refuse truncated and broken files but not harmless warnings (e.g. an odd ICC profile).
  const image = loadSharp()(file, { failOn: 'truncated', sequentialRead: true });
  const meta = await image.metadata();
  return run(image, meta.depth === 'ushort', options);
}

/** Resizes an already-decoded 8-bit image (DICOM) into C×H×W bytes. */
export function decodeRawImage(raw: RawImage, options: DecodeOptions): Promise<Uint8Array> {
  return run(loadSharp()(raw.pixels, { raw: { width: raw.width, height: raw.height, channels: raw.channels } }), false, options);
}
