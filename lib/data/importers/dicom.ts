/**
 * `dicom`: a folder of DICOM files. With `--labels <csv>` the table names the files (paths
 * relative to the source folder) and their labels, as for `csv`; without it every `.dcm` / `.dicom`
 * file (or extension-less file) is taken, unlabeled.
 */
import path from 'path';
import { ImlmError } from '../../errors';
import type { ImportOptions, SourceListing } from './source';
import { listTable } from './table';
import { assertFolder, listFiles, patientOf } from './walk';

export async function listDicom(source: string, options: ImportOptions): Promise<SourceListing> {
  await assertFolder(source, 'a folder of DICOM files');
  if (options.labelsFile) return listTable(options.labelsFile, source, options, 'dicom', 1);
  const pattern = options.patientPattern ? new RegExp(options.patientPattern) : null;
  const listed = await listFiles(source, null);
  const files = listed.files.filter((f) => ['.dcm', '.dicom', ''].includes(path.extname(f).toLowerCase()));
  if (files.length === 0) throw new ImlmError(`${source} holds no DICOM files (.dcm, .dicom or no extension)`, 'ERR_FORMAT');
  const samples = files.map((file) => ({ file, label: null, patient: patientOf(file, pattern) }));
  return { root: source, task: 'none', classes: [], samples, decoder: 'dicom', defaultChannels: 1, defaultShares: { train: 1, val: 0, test: 0 }, skipped: listed.skipped };
}
