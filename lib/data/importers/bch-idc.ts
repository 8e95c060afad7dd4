/**
 * Breast histopathology (IDC, Janowczyk & Madabhushi; Kaggle "breast-histopathology-images"):
 * `<patient>/<0|1>/*.png` 50×50 patches, at the source root or one level down. Binary: 1 = IDC.
 */
import { ImlmError } from '../../errors';
import type { SourceListing, SourceSample } from './source';
import { assertFolder, listFiles } from './walk';

export const kIdcClasses = ['IDC negative', 'IDC positive'];

export async function listBchIdc(source: string): Promise<SourceListing> {
  await assertFolder(source, 'the IDC folder (<patient>/<0|1>/*.png)');
  const samples: SourceSample[] = [];
  const { files, skipped } = await listFiles(source, ['.png']);
  for (const file of files) {
    const parts = file.split('/');
    const cls = parts[parts.length - 2];
    if (parts.length < 3 || (cls !== '0' && cls !== '1')) {
      throw new ImlmError(`${source}: '${file}' is not in the IDC layout (expected <patient>/<0|1>/<patch>.png)`, 'ERR_FORMAT');
    }
    samples.push({ file, label: Number(cls), patient: parts[parts.length - 3] });
  }
  if (samples.length === 0) throw new ImlmError(`${source} holds no <patient>/<0|1>/*.png images`, 'ERR_FORMAT');
  return { root: source, task: 'binary', classes: kIdcClasses, samples, decoder: 'image', defaultChannels: 3, skipped };
}
