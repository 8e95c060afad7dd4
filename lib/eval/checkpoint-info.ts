/** What a checkpoint's metadata says about it: its format and the image side it was trained at. */
import { promises as fs } from 'fs';
import { ImlmError } from '../errors';
import { readSafetensors } from '../safetensors';

export interface CheckpointInfo {
  /** imlm-native/train-state, imlm-native/backbone, imlm-native/finetune-state, or '' for other files. */
  format: string;
  /** The image side the network was trained at, when the file records it. */
  imageSize: number | null;
}

/** Reads a checkpoint's metadata (the file is memory-mapped, so its tensors are not read). */
export async function checkpointInfo(file: string): Promise<CheckpointInfo> {
  try {
    await fs.access(file);
  } catch {
    throw new ImlmError(`the checkpoint ${file} does not exist; pass a run's checkpoints/last.safetensors or backbone.safetensors`, 'ERR_IO');
  }
  const content = await readSafetensors(file, { mmap: true });
  for (const t of Object.values(content.tensors)) t.dispose();
  const format = content.metadata.format ?? '';
  let imageSize: number | null = null;
  if (content.metadata.config) {
    try {
      const size = (JSON.parse(content.metadata.config) as { imageSize?: unknown }).imageSize;
      if (typeof size === 'number') imageSize = size;
    } catch {
      /* a config that does not parse only loses the default image size */
    }
  }
  if (content.metadata.image_size) imageSize = Number(content.metadata.image_size);
  return { format, imageSize };
}
