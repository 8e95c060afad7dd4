/**
 * Reading the pixels of an uncompressed DICOM file into an 8-bit image (dicom-parser parses the
 * data set). Steps, as a DICOM viewer does them (PS3.3 C.7.6.3, C.11.1, C.11.2):
 *   stored value (8/16-bit, signed or unsigned, high bits beyond Bits Stored masked off)
 *   → modality value = value × Rescale Slope + Rescale Intercept
 *   → 0..255 by the first Window Centre/Width when present (the linear VOI function), else by
 *     the image's own minimum..maximum
 *   → inverted for MONOCHROME1 (where low values are white).
 * Only the first frame is read. Compressed transfer syntaxes are refused with a reason (the
 * caller skips the file): decompress them first, e.g. with `gdcmconv --raw`.
 */
import dicomParser from 'dicom-parser';
import { ImlmError } from '../errors';
import type { RawImage } from './decode-image';

const kUncompressed: Record<string, string> = {
  '1.2.840.10008.1.2': 'implicit VR little endian',
  '1.2.840.10008.1.2.1': 'explicit VR little endian',
};

function refuse(reason: string): never {
  throw new ImlmError(reason, 'ERR_FORMAT');
}

/** The first value of a multi-valued decimal string (Window Centre can be "40\400"). */
function firstDecimal(dataSet: dicomParser.DataSet, tag: string): number | undefined {
  const v = dataSet.floatString(tag, 0);
  return v === undefined || Number.isNaN(v) ? undefined : v;
}

export function decodeDicom(bytes: Uint8Array): RawImage {
  let dataSet: dicomParser.DataSet;
  try {
    dataSet = dicomParser.parseDicom(bytes);
  } catch (e) {
    refuse(`not a readable DICOM Part 10 file: ${e instanceof Error ? e.message : String(e)}`);
  }
  const syntax = dataSet.string('x00020010') ?? '1.2.840.10008.1.2';
  if (!(syntax in kUncompressed)) {
    refuse(`transfer syntax ${syntax} is compressed or big-endian, which is not supported (expected ${Object.keys(kUncompressed).join(' or ')}; decompress first, e.g. gdcmconv --raw)`);
  }
  const pixelElement = dataSet.elements.x7fe00010;
  if (!pixelElement) refuse('no Pixel Data (7FE0,0010)');
  if (pixelElement.encapsulatedPixelData) refuse('Pixel Data is encapsulated (compressed), which is not supported');
  const rows = dataSet.uint16('x00280010') ?? 0;
  const columns = dataSet.uint16('x00280011') ?? 0;
  const samplesPerPixel = dataSet.uint16('x00280002') ?? 1;
  const bitsAllocated = dataSet.uint16('x00280100') ?? 0;
  const bitsStored = dataSet.uint16('x00280101') ?? bitsAllocated;
  const signed = (dataSet.uint16('x00280103') ?? 0) === 1;
  const photometric = (dataSet.string('x00280004') ?? 'MONOCHROME2').trim();
  if (rows === 0 || columns === 0) refuse(`Rows × Columns is ${rows} × ${columns}`);
  if (bitsAllocated !== 8 && bitsAllocated !== 16) refuse(`Bits Allocated is ${bitsAllocated} (expected 8 or 16)`);
  const pixels = rows * columns;
  const bytesPerSample = bitsAllocated / 8;

  if (samplesPerPixel === 3) {
    if (photometric !== 'RGB' || bitsAllocated !== 8) refuse(`colour ${photometric} at ${bitsAllocated} bits is not supported (expected 8-bit RGB)`);
    if (pixelElement.length < pixels * 3) refuse(`Pixel Data holds ${pixelElement.length} bytes, expected ${pixels * 3} (truncated?)`);
    const src = bytes.subarray(pixelElement.dataOffset, pixelElement.dataOffset + pixels * 3);
    const planar = (dataSet.uint16('x00280006') ?? 0) === 1;
    const out = new Uint8Array(pixels * 3);
    for (let p = 0; p < pixels; p++) for (let c = 0; c < 3; c++) out[p * 3 + c] = planar ? src[c * pixels + p] : src[p * 3 + c];
    return { width: columns, height: rows, channels: 3, pixels: out };
  }
  if (samplesPerPixel !== 1 || (photometric !== 'MONOCHROME1' && photometric !== 'MONOCHROME2')) {
    refuse(`photometric interpretation ${photometric} with ${samplesPerPixel} samples per pixel is not supported (expected MONOCHROME1, MONOCHROME2 or RGB)`);
  }
  if (pixelElement.length < pixels * bytesPerSample || pixelElement.dataOffset + pixels * bytesPerSample > bytes.length) {
    refuse(`Pixel Data holds ${Math.min(pixelElement.length, bytes.length - pixelElement.dataOffset)} bytes, expected ${pixels * bytesPerSample} for ${rows}×${columns} at ${bitsAllocated} bits (truncated?)`);
  }

  const slope = firstDecimal(dataSet, 'x00281053') ?? 1;
  const intercept = firstDecimal(dataSet, 'x00281052') ?? 0;
  const view = new DataView(bytes.buffer, bytes.byteOffset + pixelElement.dataOffset, pixels * bytesPerSample);
  const mask = bitsStored >= 32 ? 0xffffffff : (1 << bitsStored) - 1;
  const signBit = 1 << (bitsStored - 1);
  const values = new Float64Array(pixels);
  let min = Infinity;
  let max = -Infinity;
  for (let p = 0; p < pixels; p++) {
    let v = (bitsAllocated === 16 ? view.getUint16(p * 2, true) : view.getUint8(p)) & mask;
    if (signed && v & signBit) v -= mask + 1;
    const m = v * slope + intercept;
    values[p] = m;
    if (m < min) min = m;
    if (m > max) max = m;
  }

  const centre = firstDecimal(dataSet, 'x00281050');
  const width = firstDecimal(dataSet, 'x00281051');
  const out = new Uint8Array(pixels);
  if (centre !== undefined && width !== undefined && width >= 1) {
    // PS3.3 C.11.2.1.2.1, linear: y = ((x − (c − 0.5)) / (w − 1) + 0.5) · 255, clipped.
    const lo = centre - 0.5 - (width - 1) / 2;
    const hi = centre - 0.5 + (width - 1) / 2;
    for (let p = 0; p < pixels; p++) {
      const x = values[p];
      out[p] = x <= lo ? 0 : x > hi ? 255 : Math.round(((x - (centre - 0.5)) / Math.max(width - 1, 1) + 0.5) * 255);
    }
  } else {
    const range = max > min ? max - min : 1;
    for (let p = 0; p < pixels; p++) out[p] = Math.round(((values[p] - min) * 255) / range);
  }
  if (photometric === 'MONOCHROME1') for (let p = 0; p < pixels; p++) out[p] = 255 - out[p];
  return { width: columns, height: rows, channels: 1, pixels: out };
}
