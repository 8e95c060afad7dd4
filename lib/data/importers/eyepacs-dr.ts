/**
 * EyePACS diabetic retinopathy (Kaggle): `trainLabels.csv` (`image`, `level` 0–4) beside JPEGs in
 * any sub-folder. Binary "referable" (level ≥ 2, jama16's bin2) by default, or the five grades.
 * The patient is the image name without its `_left` / `_right` suffix, so both eyes stay together.
 */
import { existsSync } from 'fs';
import path from 'path';
import { ImlmError } from '../../errors';
import { readCsvTable } from './csv-table';
import type { ImportOptions, SourceListing, SourceSample } from './source';
import { assertFolder, indexByName, listFiles, pathForName } from './walk';

export const kDrGrades = ['No DR', 'Mild', 'Moderate', 'Severe', 'Proliferative DR'];
export const kDrReferable = ['non-referable (grade 0-1)', 'referable (grade 2-4)'];

export async function listEyepacsDr(source: string, options: ImportOptions): Promise<SourceListing> {
  await assertFolder(source, 'the EyePACS folder (trainLabels.csv and the .jpeg images)');
  const labelsFile = options.labelsFile ?? path.join(source, 'trainLabels.csv');
  if (!existsSync(labelsFile)) throw new ImlmError(`${labelsFile} is missing (expected EyePACS's label file with the columns image, level)`, 'ERR_FORMAT');
  const mode = options.drLabels ?? 'referable';
  if (mode !== 'referable' && mode !== 'grades') throw new ImlmError(`Expected --dr-labels 'referable' or 'grades' but received '${mode}'`, 'ERR_INVALID_ARG');
  const table = await readCsvTable(labelsFile, ['image', 'level']);
  const listed = await listFiles(source, ['.jpeg', '.jpg', '.png', '.tif', '.tiff']);
  const byStem = indexByName(listed.files, { stem: true });
  const samples: SourceSample[] = table.rows.map(({ line, values }) => {
    const name = values.image;
    const file = pathForName(byStem, name, `${labelsFile}: line ${line}`, `the image '${name}' (.jpeg) is not in ${source} or any sub-folder (expected every image of the CSV)`);
    const level = Number(values.level);
    if (!/^[0-4]$/.test(values.level)) throw new ImlmError(`${labelsFile}: line ${line}: 'level' is '${values.level}' (expected an integer grade 0-4)`, 'ERR_FORMAT');
    const patient = /^(.*)_(left|right)$/.exec(name)?.[1] ?? name;
    return { file, label: mode === 'grades' ? level : level >= 2 ? 1 : 0, patient };
  });
  return {
    root: source,
    task: mode === 'grades' ? 'multiclass' : 'binary',
    classes: mode === 'grades' ? kDrGrades : kDrReferable,
    samples,
    decoder: 'image',
    defaultChannels: 3,
    skipped: listed.skipped,
  };
}
