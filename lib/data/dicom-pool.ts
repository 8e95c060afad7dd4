/**
 * Decodes DICOM files on worker threads: dicom-parser and the rescale/window mapping are plain
 * JavaScript loops over every pixel (milliseconds for a CT slice, far more for a mammogram), which
 * must not run on the event loop. A few workers, each fed the file with the fewest queued jobs.
 *
 * The worker is the compiled dicom-worker.js beside this file; when running from the TypeScript
 * sources (ts-jest), where there is none, files are decoded in this thread instead.
 */
import { existsSync, promises as fs } from 'fs';
import path from 'path';
import { Worker } from 'worker_threads';
import { ImlmError } from '../errors';
import { decodeDicom } from './dicom-decode';
import type { RawImage } from './decode-image';

interface Pending {
  resolve: (image: RawImage) => void;
  reject: (error: Error) => void;
}

interface Lane {
  worker: Worker;
  pending: Map<number, Pending>;
}

export class DicomDecoderPool {
  private readonly lanes: Lane[] = [];
  private nextId = 0;

  constructor(threads: number) {
    const script = path.join(__dirname, 'dicom-worker.js');
    if (!existsSync(script)) return;
    for (let i = 0; i < threads; i++) {
      const lane: Lane = { worker: new Worker(script), pending: new Map() };
      lane.worker.on('message', (m: { id: number; image?: RawImage; error?: string }) => {
        const p = lane.pending.get(m.id);
        if (!p) return;
        lane.pending.delete(m.id);
        if (m.image) p.resolve({ ...m.image, pixels: new Uint8Array(m.image.pixels.buffer, m.image.pixels.byteOffset, m.image.pixels.length) });
        else p.reject(new ImlmError(m.error ?? 'unknown error', 'ERR_FORMAT'));
      });
      lane.worker.on('error', (e) => {
        for (const p of lane.pending.values()) p.reject(new ImlmError(`the DICOM decoding thread failed: ${e.message}`, 'ERR_INTERNAL', { cause: e }));
        lane.pending.clear();
        const at = this.lanes.indexOf(lane);
        if (at >= 0) this.lanes.splice(at, 1);
      });
      this.lanes.push(lane);
    }
  }

  /** Whether decoding runs on worker threads (false when running from the TypeScript sources). */
  get threaded(): boolean {
    return this.lanes.length > 0;
  }

  decode(file: string): Promise<RawImage> {
    if (this.lanes.length === 0) return fs.readFile(file).then(decodeDicom);
    const lane = this.lanes.reduce((a, b) => (b.pending.size < a.pending.size ? b : a));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      lane.pending.set(id, { resolve, reject });
      lane.worker.postMessage({ id, file });
    });
  }

  async close(): Promise<void> {
    await Promise.all(this.lanes.splice(0).map((lane) => lane.worker.terminate()));
  }
}
