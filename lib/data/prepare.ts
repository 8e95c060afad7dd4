/** `prepare <format>`: one entry for every source format (IDX files and the image importers). */
import { ImlmError } from '../errors';
import { prepareImages, kImageFormats, type ImageFormat, type PrepareImagesOptions } from './prepare-images';
import { prepareIdx, type PrepareIdxOptions } from './prepare-idx';
import type { Manifest } from './store';

export const kPrepareFormats = ['idx', ...kImageFormats] as const;
export type PrepareFormat = (typeof kPrepareFormats)[number];

export type PrepareOptions = PrepareImagesOptions & PrepareIdxOptions;

export function prepare(format: string, source: string, out: string, options: PrepareOptions = {}): Promise<Manifest> {
  if (format === 'idx') {
    // IDX files (MNIST, Fashion-MNIST) hold grey images; a store of them has one channel.
    if (options.channels !== undefined && options.channels !== 1) {
      throw new ImlmError(`Expected no --channels (or 1) for idx, whose images are grey, but received ${options.channels}; leave --channels out (the store gets 1 channel)`, 'ERR_INVALID_ARG');
    }
    return prepareIdx(source, out, options);
  }
  if (!(kImageFormats as readonly string[]).includes(format)) {
    throw new ImlmError(`Expected a format among ${kPrepareFormats.join(', ')} but received '${format}'`, 'ERR_INVALID_ARG');
  }
  return prepareImages(format as ImageFormat, source, out, options);
}
