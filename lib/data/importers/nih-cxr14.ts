/**
 * NIH ChestX-ray14: `Data_Entry_2017.csv` (`Image Index`, `Finding Labels` joined by '|',
 * `Patient ID`, …) beside the images, which may sit in any sub-folder (the official archives
 * unpack to images_001/images/…). Multilabel over 14 findings; "No Finding" is all zeros.
 */
import { existsSync } from 'fs';
import path from 'path';
import { ImlmError } from '../../errors';
import { readRegularFile } from '../json-file';
import { readCsvTable } from './csv-table';
import type { SourceListing, SourceSample } from './source';
import { assertFolder, indexByName, listFiles, pathForName } from './walk';

/** The CheXNet class order, which the paper's split lists are taken to use (reference-splits/README.md). */
export const kNihClasses = [
  'Atelectasis', 'Cardiomegaly', 'Effusion', 'Infiltration', 'Mass', 'Nodule', 'Pneumonia',
  'Pneumothorax', 'Consolidation', 'Edema', 'Emphysema', 'Fibrosis', 'Pleural_Thickening', 'Hernia',
];
const kNoFinding = 'No Finding';
/** The official patient-level division shipped with the data set: file names, one a line. */
const kOfficialTestList = 'test_list.txt';
const kOfficialTrainValList = 'train_val_list.txt';
const kEntryFiles = ['Data_Entry_2017.csv', 'Data_Entry_2017_v2020.csv'];

export async function listNihCxr14(source: string): Promise<SourceListing> {
  await assertFolder(source, 'the NIH ChestX-ray14 folder (Data_Entry_2017.csv and the images_*/ folders)');
  const entryFile = kEntryFiles.map((f) => path.join(source, f)).find((f) => existsSync(f));
  if (!entryFile) throw new ImlmError(`${source} has no ${kEntryFiles.join(' or ')} (expected NIH ChestX-ray14's label file beside the images)`, 'ERR_FORMAT');
  const table = await readCsvTable(entryFile, ['Image Index', 'Finding Labels', 'Patient ID']);
  const listed = await listFiles(source, ['.png']);
  const byName = indexByName(listed.files);
  const classIndex = new Map(kNihClasses.map((c, i) => [c, i]));
  const samples: SourceSample[] = table.rows.map(({ line, values }) => {
    const name = values['Image Index'];
    const file = pathForName(byName, name, `${entryFile}: line ${line}`, `the image '${name}' is not in ${source} or any sub-folder (expected every image of the CSV; unpack all images_*.tar.gz archives)`);
    const label = new Uint8Array(kNihClasses.length);
    for (const finding of values['Finding Labels'].split('|').map((s) => s.trim())) {
      if (finding === kNoFinding) continue;
      const k = classIndex.get(finding);
      if (k === undefined) {
        throw new ImlmError(`${entryFile}: line ${line}: unknown finding '${finding}' in 'Finding Labels' (expected '${kNoFinding}' or any of ${kNihClasses.join(', ')}, joined by '|')`, 'ERR_FORMAT');
      }
      label[k] = 1;
    }
    if (values['Patient ID'] === '') throw new ImlmError(`${entryFile}: line ${line}: 'Patient ID' is empty (expected the patient's number)`, 'ERR_FORMAT');
    return { file, label, patient: values['Patient ID'] };
  });
  // The official division, when its lists are there: test_list.txt is 'test'; the rest (train_val_list.txt) is split into train/val by patient.
  const testList = path.join(source, kOfficialTestList);
  if (existsSync(testList) && existsSync(path.join(source, kOfficialTrainValList))) {
    const testNames = new Set((await readRegularFile(testList, 'the official test list, one file name a line')).toString('utf8').split(/\s+/).filter(Boolean));
    for (const s of samples) if (testNames.has(path.posix.basename(s.file))) s.split = 'test';
    return {
      root: source,
      task: 'multilabel',
      classes: kNihClasses,
      samples,
      decoder: 'image',
      defaultChannels: 1,
      skipped: listed.skipped,
      division: `the official ${kOfficialTestList} is 'test'; the other images (${kOfficialTrainValList}) are split into train/val by patient`,
    };
  }
  return { root: source, task: 'multilabel', classes: kNihClasses, samples, decoder: 'image', defaultChannels: 1, skipped: listed.skipped };
}
