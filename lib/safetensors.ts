/** Reading and writing safetensors files (docs/formats.md) as JS Tensors, off the JS thread. */
import { native, type NativeTensor } from './native';

export interface SafetensorsContent {
  tensors: Record<string, NativeTensor>;
  metadata: Record<string, string>;
}

/**
 * Reads a whole file; ERR_IO if it cannot be read, ERR_FORMAT (naming file and tensor) if corrupt.
 * With `mmap: true` the tensors point into a private memory mapping of the file (pages are read
 * when touched) instead of being copied.
 */
export function readSafetensors(path: string, options: { mmap?: boolean } = {}): Promise<SafetensorsContent> {
  return native().readSafetensors(path, { mmap: options.mmap ?? false });
}

/** Writes atomically: a failure or crash leaves the previous file at `path` intact. */
export function writeSafetensors(
  path: string,
  tensors: Record<string, NativeTensor>,
  metadata: Record<string, string> = {},
): Promise<void> {
  return native().writeSafetensors(path, tensors, metadata);
}

/** Disposes every tensor of a file's content. */
export function disposeAll(content: SafetensorsContent): void {
  for (const t of Object.values(content.tensors)) t.dispose();
}
