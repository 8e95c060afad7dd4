// An independent reader of TensorBoard event files, written from the format's definition
// (TFRecord framing, CRC-32C bit by bit, protobuf wire format) rather than with the libraries
// lib/run-logs/tensorboard.ts uses. It fails the calling test on a bad CRC or a torn record.
import { readFileSync } from 'fs';

function crc32cBitwise(data: Uint8Array): number {
  let crc = 0xffffffff;
  for (const byte of data) {
    crc ^= byte;
    for (let k = 0; k < 8; k++) crc = crc & 1 ? (crc >>> 1) ^ 0x82f63b78 : crc >>> 1;
  }
  return (crc ^ 0xffffffff) >>> 0;
}
const masked = (data: Uint8Array) => {
  const c = crc32cBitwise(data);
  return ((((c >>> 15) | (c << 17)) >>> 0) + 0xa282ead8) >>> 0;
};

type Field = { number: number; wire: number; value: bigint | Buffer };
function fields(buf: Buffer): Field[] {
  const out: Field[] = [];
  let i = 0;
  const varint = () => {
    let v = 0n;
    let shift = 0n;
    for (;;) {
      const b = buf[i++];
      v |= BigInt(b & 0x7f) << shift;
      if (!(b & 0x80)) return v;
      shift += 7n;
    }
  };
  while (i < buf.length) {
    const key = Number(varint());
    const wire = key & 7;
    const number = key >> 3;
    if (wire === 0) out.push({ number, wire, value: varint() });
    else if (wire === 1) out.push({ number, wire, value: buf.subarray(i, (i += 8)) });
    else if (wire === 5) out.push({ number, wire, value: buf.subarray(i, (i += 4)) });
    else if (wire === 2) {
      const n = Number(varint());
      out.push({ number, wire, value: buf.subarray(i, (i += n)) });
    } else throw new Error(`unexpected wire type ${wire}`);
  }
  return out;
}

export interface DecodedEvent { wallTime: number; step: number; fileVersion?: string; scalars: Record<string, number> }
export function readEventFile(file: string): DecodedEvent[] {
  const buf = readFileSync(file);
  const events: DecodedEvent[] = [];
  let i = 0;
  while (i < buf.length) {
    const header = buf.subarray(i, i + 8);
    expect(buf.readUInt32LE(i + 8)).toBe(masked(header));
    const n = Number(buf.readBigUInt64LE(i));
    const data = buf.subarray(i + 12, i + 12 + n);
    expect(buf.readUInt32LE(i + 12 + n)).toBe(masked(data));
    i += 12 + n + 4;
    const e: DecodedEvent = { wallTime: NaN, step: 0, scalars: {} };
    for (const f of fields(data)) {
      if (f.number === 1) e.wallTime = (f.value as Buffer).readDoubleLE(0);
      else if (f.number === 2) e.step = Number(f.value as bigint);
      else if (f.number === 3) e.fileVersion = (f.value as Buffer).toString('utf8');
      else if (f.number === 5) {
        for (const v of fields(f.value as Buffer).filter((x) => x.number === 1)) {
          const parts = fields(v.value as Buffer);
          const tag = (parts.find((p) => p.number === 1)!.value as Buffer).toString('utf8');
          const value = parts.find((p) => p.number === 2); // proto3: an absent field is 0
          e.scalars[tag] = value ? (value.value as Buffer).readFloatLE(0) : 0;
        }
      }
    }
    events.push(e);
  }
  expect(i).toBe(buf.length);
  return events;
}

