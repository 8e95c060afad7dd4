/**
 * Writes one split's safetensors shard row by row, so preparing a large data set never holds its
 * images in memory. The header is known up front from the planned row count: it is written
 * first, each decoded image goes straight to its slot (any order, any concurrency: the bytes do
 * not depend on which image finished first), and `finish` writes ids, labels and patients. When
 * some images were skipped, the kept rows are moved up over the gaps (one sequential pass over
 * the file) and the header is rewritten for the smaller count, padded to its original length.
 *
 * Layout (docs/formats.md, safetensors): tensors in name order — ids, images, labels, patients —
 * contiguous, little-endian, header padded with spaces to a multiple of 8 bytes.
 */
import { promises as fs } from 'fs';
import { ImlmError } from '../errors';

export interface ShardShape {
  channels: number;
  height: number;
  width: number;
  /** null: labels I64 [N] (a class index, or -1 when unlabeled); k: labels U8 [N, k] (multilabel). */
  labelWidth: number | null;
}

/** Bytes moved at a time while closing gaps left by skipped rows. */
const kMoveChunkBytes = 16 << 20;

function headerFor(rows: number, shape: ShardShape, metadata: Record<string, string>): Record<string, unknown> {
  const imageBytes = rows * shape.channels * shape.height * shape.width;
  const labelBytes = shape.labelWidth === null ? rows * 8 : rows * shape.labelWidth;
  let offset = 0;
  const entry = (dtype: string, shapeOf: number[], bytes: number) => {
    const e = { dtype, shape: shapeOf, data_offsets: [offset, offset + bytes] };
    offset += bytes;
    return e;
  };
  return {
    __metadata__: metadata,
    ids: entry('I64', [rows], rows * 8),
    images: entry('U8', [rows, shape.channels, shape.height, shape.width], imageBytes),
    labels: shape.labelWidth === null ? entry('I64', [rows], labelBytes) : entry('U8', [rows, shape.labelWidth], labelBytes),
    patients: entry('I64', [rows], rows * 8),
  };
}

function encodeHeader(header: Record<string, unknown>, length?: number): Buffer {
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const padded = length ?? Math.ceil(json.length / 8) * 8;
  if (json.length > padded) throw new ImlmError(`shard header of ${json.length} bytes does not fit in ${padded}`, 'ERR_INTERNAL');
  const out = Buffer.alloc(8 + padded, 0x20);
  out.writeBigUInt64LE(BigInt(padded), 0);
  json.copy(out, 8);
  return out;
}

export class ShardWriter {
  readonly rowBytes: number;
  private readonly headerBytes: number;

  private constructor(
    readonly file: string,
    private readonly handle: fs.FileHandle,
    readonly plannedRows: number,
    private readonly shape: ShardShape,
    private readonly metadata: Record<string, string>,
  ) {
    this.rowBytes = shape.channels * shape.height * shape.width;
    this.headerBytes = encodeHeader(headerFor(plannedRows, shape, metadata)).length;
  }

  /** Creates `file` sized for `rows` images (sparse until written). */
  static async create(file: string, rows: number, shape: ShardShape, metadata: Record<string, string>): Promise<ShardWriter> {
    const handle = await fs.open(file, 'w+');
    const writer = new ShardWriter(file, handle, rows, shape, metadata);
    try {
      await handle.truncate(writer.rowOffset(rows, rows));
    } catch (e) {
      await handle.close();
      throw new ImlmError(`cannot create ${file}: ${(e as Error).message}`, 'ERR_IO', { cause: e });
    }
    return writer;
  }

  /** Where row `slot` starts in a shard of `rows` rows. */
  private rowOffset(slot: number, rows: number): number {
    return this.headerBytes + rows * 8 + slot * this.rowBytes;
  }

  /** Writes the C×H×W bytes of the image planned at `slot`. */
  async writeRow(slot: number, pixels: Uint8Array): Promise<void> {
    if (pixels.length !== this.rowBytes || slot < 0 || slot >= this.plannedRows) {
      throw new ImlmError(`row ${slot} of ${this.file}: expected ${this.rowBytes} bytes in slot 0..${this.plannedRows - 1}, received ${pixels.length}`, 'ERR_INTERNAL');
    }
    try {
      await this.handle.write(pixels, 0, pixels.length, this.rowOffset(slot, this.plannedRows));
    } catch (e) {
      throw new ImlmError(`cannot write ${this.file}: ${(e as Error).message} (disk full?)`, 'ERR_IO', { cause: e });
    }
  }

  /**
   * Completes the shard with the rows of `keptSlots` (ascending), in that order, and their
   * ids, labels (I64 [N] or U8 [N, k] flattened) and patient indices; then closes it.
   */
  async finish(keptSlots: readonly number[], ids: BigInt64Array, labels: BigInt64Array | Uint8Array, patients: BigInt64Array): Promise<void> {
    const rows = keptSlots.length;
    try {
      if (ids.length !== rows || patients.length !== rows || labels.length !== rows * (this.shape.labelWidth ?? 1)) {
        throw new ImlmError(`${this.file}: ${rows} rows but ${ids.length} ids, ${labels.length} label values, ${patients.length} patients`, 'ERR_INTERNAL');
      }
      await this.closeGaps(keptSlots);
      const header = encodeHeader(headerFor(rows, this.shape, this.metadata), this.headerBytes - 8);
      await this.handle.write(header, 0, header.length, 0);
      await this.handle.write(Buffer.from(ids.buffer, ids.byteOffset, ids.byteLength), 0, ids.byteLength, this.headerBytes);
      const afterImages = this.rowOffset(rows, rows);
      const labelBuffer = Buffer.from(labels.buffer, labels.byteOffset, labels.byteLength);
      await this.handle.write(labelBuffer, 0, labelBuffer.length, afterImages);
      await this.handle.write(Buffer.from(patients.buffer, patients.byteOffset, patients.byteLength), 0, patients.byteLength, afterImages + labelBuffer.length);
      await this.handle.truncate(afterImages + labelBuffer.length + patients.byteLength);
      await this.handle.sync();
    } finally {
      await this.handle.close();
    }
  }

  /** Closes the file without completing it (the caller removes the temporary store). */
  async abandon(): Promise<void> {
    await this.handle.close().catch(() => undefined);
  }

  /** Moves kept rows up to their final places; a no-op when nothing was skipped. */
  private async closeGaps(keptSlots: readonly number[]): Promise<void> {
    const rows = keptSlots.length;
    if (rows === this.plannedRows) return;
    const buffer = Buffer.allocUnsafe(Math.max(this.rowBytes, Math.floor(kMoveChunkBytes / this.rowBytes) * this.rowBytes));
    const rowsPerChunk = buffer.length / this.rowBytes;
    let j = 0;
    while (j < rows) {
      // A run of consecutive planned slots moves as one block; destinations never pass sources.
      let run = 1;
      while (j + run < rows && run < rowsPerChunk && keptSlots[j + run] === keptSlots[j] + run) run++;
      const from = this.rowOffset(keptSlots[j], this.plannedRows);
      const to = this.rowOffset(j, rows);
      const bytes = run * this.rowBytes;
      if (from !== to) {
        const { bytesRead } = await this.handle.read(buffer, 0, bytes, from);
        if (bytesRead !== bytes) throw new ImlmError(`${this.file}: short read while compacting rows`, 'ERR_IO');
        await this.handle.write(buffer, 0, bytes, to);
      }
      j += run;
    }
  }
}
