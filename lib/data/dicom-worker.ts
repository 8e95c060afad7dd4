/**
 * Worker thread of DicomDecoderPool: reads a DICOM file and maps its pixels to 8 bits
 * (dicom-decode.ts), so that per-pixel work stays off the event loop.
 */
import { readFileSync } from 'fs';
import { parentPort } from 'worker_threads';
import { decodeDicom } from './dicom-decode';

parentPort!.on('message', ({ id, file }: { id: number; file: string }) => {
  try {
    const image = decodeDicom(readFileSync(file));
    parentPort!.postMessage({ id, image }, [image.pixels.buffer as ArrayBuffer]);
  } catch (e) {
    parentPort!.postMessage({ id, error: e instanceof Error ? e.message : String(e) });
  }
});
