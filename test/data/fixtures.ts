/**
 * Small data sets in the real layouts, generated at test time: NIH ChestX-ray14, EyePACS, IDC,
 * class folders, a CSV, DICOM files. Images are mostly uniform, with a grey value that encodes the
 * sample, so a test can tell from a store row which source image it came from.
 */
import { mkdirSync, writeFileSync } from 'fs';
import path from 'path';
import sharp from 'sharp';
import { crc32, deflateSync } from 'zlib';

/** A uniform image file of the given size, channels and value (format from the extension). */
export async function uniformImage(file: string, width: number, height: number, channels: 1 | 3, value: number | [number, number, number]): Promise<void> {
  mkdirSync(path.dirname(file), { recursive: true });
  const rgb = typeof value === 'number' ? [value, value, value] : value;
  const data = Buffer.alloc(width * height * channels);
  for (let p = 0; p < width * height; p++) for (let c = 0; c < channels; c++) data[p * channels + c] = rgb[c];
  let img = sharp(data, { raw: { width, height, channels } });
  img = file.endsWith('.png') ? img.png() : img.jpeg({ quality: 100, chromaSubsampling: '4:4:4' });
  await img.toFile(file);
}

/** A 16-bit greyscale PNG (libvips would write 8 bits from raw input, so the file is built here). */
export function png16(width: number, height: number, values: ArrayLike<number>): Buffer {
  const chunk = (type: string, data: Buffer) => {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(data.length);
    const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(body));
    return Buffer.concat([length, body, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 16; // bit depth
  ihdr[9] = 0; // greyscale
  const raw = Buffer.alloc(height * (1 + 2 * width));
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) raw.writeUInt16BE(values[y * width + x], y * (1 + 2 * width) + 1 + 2 * x);
  return Buffer.concat([Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]), chunk('IHDR', ihdr), chunk('IDAT', deflateSync(raw)), chunk('IEND', Buffer.alloc(0))]);
}

export interface DicomSpec {
  rows: number;
  columns: number;
  /** Stored values, row-major. */
  values: ArrayLike<number>;
  bitsAllocated?: 8 | 16;
  bitsStored?: number;
  signed?: boolean;
  photometric?: 'MONOCHROME1' | 'MONOCHROME2';
  slope?: number;
  intercept?: number;
  windowCentre?: number;
  windowWidth?: number;
  patientId?: string;
  transferSyntax?: string;
}

/** A DICOM Part 10 file: 128-byte preamble, 'DICM', file meta group, explicit VR little endian data set. */
export function dicomFile(spec: DicomSpec): Buffer {
  const bitsAllocated = spec.bitsAllocated ?? 16;
  const element = (group: number, elem: number, vr: string, value: Buffer) => {
    if (value.length % 2) value = Buffer.concat([value, Buffer.from(vr === 'UI' ? [0] : [0x20])]);
    const long = ['OB', 'OW', 'UN', 'SQ', 'UT'].includes(vr);
    const head = Buffer.alloc(long ? 12 : 8);
    head.writeUInt16LE(group, 0);
    head.writeUInt16LE(elem, 2);
    head.write(vr, 4, 'ascii');
    if (long) head.writeUInt32LE(value.length, 8);
    else head.writeUInt16LE(value.length, 6);
    return Buffer.concat([head, value]);
  };
  const us = (v: number) => {
    const b = Buffer.alloc(2);
    b.writeUInt16LE(v);
    return b;
  };
  const str = (s: string) => Buffer.from(s, 'ascii');
  const metaBody = Buffer.concat([
    element(0x0002, 0x0001, 'OB', Buffer.from([0, 1])),
    element(0x0002, 0x0002, 'UI', str('1.2.840.10008.5.1.4.1.1.7')),
    element(0x0002, 0x0003, 'UI', str('1.2.3.4')),
    element(0x0002, 0x0010, 'UI', str(spec.transferSyntax ?? '1.2.840.10008.1.2.1')),
  ]);
  const groupLength = Buffer.alloc(4);
  groupLength.writeUInt32LE(metaBody.length);
  const pixels = Buffer.alloc(spec.rows * spec.columns * (bitsAllocated / 8));
  for (let i = 0; i < spec.rows * spec.columns; i++) {
    const v = spec.values[i];
    if (bitsAllocated === 8) pixels[i] = v & 0xff;
    else pixels.writeUInt16LE(v & 0xffff, i * 2);
  }
  const parts = [
    element(0x0010, 0x0020, 'LO', str(spec.patientId ?? 'P1')),
    element(0x0028, 0x0002, 'US', us(1)),
    element(0x0028, 0x0004, 'CS', str(spec.photometric ?? 'MONOCHROME2')),
    element(0x0028, 0x0010, 'US', us(spec.rows)),
    element(0x0028, 0x0011, 'US', us(spec.columns)),
    element(0x0028, 0x0100, 'US', us(bitsAllocated)),
    element(0x0028, 0x0101, 'US', us(spec.bitsStored ?? bitsAllocated)),
    element(0x0028, 0x0102, 'US', us((spec.bitsStored ?? bitsAllocated) - 1)),
    element(0x0028, 0x0103, 'US', us(spec.signed ? 1 : 0)),
    ...(spec.windowCentre !== undefined ? [element(0x0028, 0x1050, 'DS', str(String(spec.windowCentre)))] : []),
    ...(spec.windowWidth !== undefined ? [element(0x0028, 0x1051, 'DS', str(String(spec.windowWidth)))] : []),
    ...(spec.intercept !== undefined ? [element(0x0028, 0x1052, 'DS', str(String(spec.intercept)))] : []),
    ...(spec.slope !== undefined ? [element(0x0028, 0x1053, 'DS', str(String(spec.slope)))] : []),
    element(0x7fe0, 0x0010, bitsAllocated === 8 ? 'OB' : 'OW', pixels),
  ];
  return Buffer.concat([Buffer.alloc(128), str('DICM'), element(0x0002, 0x0000, 'UL', groupLength), metaBody, ...parts]);
}

export const kNihHeader = 'Image Index,Finding Labels,Follow-up #,Patient ID,Patient Age,Patient Gender,View Position,OriginalImage[Width,Height],OriginalImagePixelSpacing[x,y],';

/** Findings used by the NIH fixture, cycling through label combinations. */
const kFindings = ['No Finding', 'Cardiomegaly', 'Effusion|Infiltration', 'No Finding', 'Hernia', 'Atelectasis|Effusion', 'Mass'];

/**
 * NIH layout: Data_Entry_2017.csv (the real header, rows of 11 fields) and PNGs in
 * images_001/images and images_002/images. `patients` × `perPatient` images, 40×32 grey, image i
 * uniform with value 10 + 3·i. Returns the rows in CSV order.
 */
export async function nihFixture(dir: string, patients = 20, perPatient = 2) {
  const rows: Array<{ name: string; findings: string; patient: string; value: number }> = [];
  const lines = [kNihHeader];
  for (let p = 0; p < patients; p++) {
    for (let k = 0; k < perPatient; k++) {
      const i = rows.length;
      const patient = String(p + 1);
      const name = `${patient.padStart(8, '0')}_${String(k).padStart(3, '0')}.png`;
      const findings = kFindings[i % kFindings.length];
      rows.push({ name, findings, patient, value: 10 + 3 * i });
      lines.push(`${name},${findings},${k},${patient},58,M,PA,2682,2749,0.143,0.143`);
    }
  }
  writeFileSync(path.join(dir, 'Data_Entry_2017.csv'), lines.join('\n') + '\n');
  await Promise.all(rows.map((r, i) => uniformImage(path.join(dir, i % 2 ? 'images_002' : 'images_001', 'images', r.name), 40, 32, 1, r.value)));
  return rows;
}
