/**
 * TensorBoard event files: `events.out.tfevents.<seconds>.<host>.<pid>.<n>` in a run folder, one
 * Event record per report step holding every scalar of that step. A file is a sequence of
 * TFRecords — u64 length, masked CRC-32C of the length, the serialized Event, masked CRC-32C of
 * the data (all little-endian) — and the first record carries `file_version: "brain.Event:2"`,
 * which is how TensorBoard recognises the format (docs/formats.md, "TensorBoard event files").
 *
 * Each report is appended and flushed with one write, so a run killed at any point leaves a file
 * that TensorBoard reads up to the last complete record. A resumed run writes a new file beside
 * the old ones; TensorBoard merges all files of a folder by step.
 */
import { existsSync, promises as fs } from 'fs';
import os from 'os';
import path from 'path';
import { crc32c } from '@aws-crypto/crc32c';
import protobuf from 'protobufjs';
import { ImlmError } from '../errors';

// The fields of tensorflow/core/util/event.proto and framework/summary.proto that scalars use.
const schema = protobuf.Root.fromJSON({
  nested: {
    Event: {
      fields: {
        wallTime: { type: 'double', id: 1 },
        step: { type: 'int64', id: 2 },
        fileVersion: { type: 'string', id: 3 },
        summary: { type: 'Summary', id: 5 },
      },
    },
    Summary: {
      fields: { value: { rule: 'repeated', type: 'Value', id: 1 } },
      nested: {
        Value: { fields: { tag: { type: 'string', id: 1 }, simpleValue: { type: 'float', id: 2 } } },
      },
    },
  },
});
const EventType = schema.lookupType('Event');

/** The CRC TFRecord stores: rotated and offset so that CRCs of data holding CRCs stay strong. */
function maskedCrc32c(data: Uint8Array): number {
  const crc = crc32c(data);
  return ((((crc >>> 15) | (crc << 17)) >>> 0) + 0xa282ead8) >>> 0;
}

/** One TFRecord around `data`. */
function tfRecord(data: Uint8Array): Buffer {
  const out = Buffer.alloc(8 + 4 + data.length + 4);
  out.writeBigUInt64LE(BigInt(data.length), 0);
  out.writeUInt32LE(maskedCrc32c(out.subarray(0, 8)), 8);
  out.set(data, 12);
  out.writeUInt32LE(maskedCrc32c(data), 12 + data.length);
  return out;
}

function eventBytes(event: { wallTime: number; step?: number; fileVersion?: string; scalars?: Record<string, number> }): Uint8Array {
  const message = EventType.fromObject({
    wallTime: event.wallTime,
    ...(event.step !== undefined ? { step: event.step } : {}),
    ...(event.fileVersion ? { fileVersion: event.fileVersion } : {}),
    ...(event.scalars ? { summary: { value: Object.entries(event.scalars).map(([tag, simpleValue]) => ({ tag, simpleValue })) } } : {}),
  });
  return EventType.encode(message).finish();
}

export class TensorBoardWriter {
  private constructor(readonly file: string) {}

  /** Creates a new event file in `dir` (which must exist) and writes its version record. */
  static async create(dir: string): Promise<TensorBoardWriter> {
    // Seconds, host and process as PyTorch's SummaryWriter names them, plus a count, so two
    // writers of one process in one second (a quick resume) get two files.
    const stem = `events.out.tfevents.${Math.floor(Date.now() / 1000)}.${os.hostname()}.${process.pid}`;
    let n = 0;
    while (existsSync(path.join(dir, `${stem}.${n}`))) n++;
    const writer = new TensorBoardWriter(path.join(dir, `${stem}.${n}`));
    await writer.append([tfRecord(eventBytes({ wallTime: Date.now() / 1000, fileVersion: 'brain.Event:2' }))]);
    return writer;
  }

  /** Appends one event with these scalars at `step`; non-finite values are written as they are. */
  async scalars(step: number, values: Record<string, number>): Promise<void> {
    if (!Number.isInteger(step) || step < 0) {
      throw new ImlmError(`expected step to be an integer >= 0 but received ${step}`, 'ERR_INVALID_ARG');
    }
    await this.append([tfRecord(eventBytes({ wallTime: Date.now() / 1000, step, scalars: values }))]);
  }

  private async append(records: Buffer[]): Promise<void> {
    try {
      await fs.appendFile(this.file, Buffer.concat(records));
    } catch (e) {
      throw new ImlmError(`could not write the TensorBoard event file ${this.file}: ${(e as Error).message}; check that the run folder is writable`, 'ERR_IO', { cause: e });
    }
  }
}
