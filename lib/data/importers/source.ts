/**
 * What every importer produces: the samples of a source (file, label, patient, and the split
 * when the source divides itself), in a fixed order whose index becomes the sample's stable id.
 */
import type { Split } from '../splits';
import type { Task } from '../store';

export interface SourceSample {
  /** Path relative to the source root, '/'-separated (recorded in samples.json). */
  file: string;
  /** Class index (binary/multiclass), 0/1 per class (multilabel), or null (unlabeled). */
  label: number | Uint8Array | null;
  /** Samples of one patient always land in the same split. */
  patient: string;
  /** Set when the source has its own division (e.g. train/ val/ test/ folders). */
  split?: Split;
}

export interface SourceListing {
  /** The folder that `file` paths are relative to. */
  root: string;
  task: Task;
  classes: string[];
  samples: SourceSample[];
  /** How files are decoded. */
  decoder: 'image' | 'dicom';
  /**
   * In words, when the samples carry their own split (the source's division). Samples left
   * without a split are then divided into train/val by patient (the train:val ratio of the shares).
   */
  division?: string;
  /** Default channels for this kind of image (1 for radiographs, 3 for colour photographs). */
  defaultChannels: 1 | 3;
  /**
   * Entries of the source folder left out while listing it (symlink cycles, duplicates reached
   * through links, dangling links, FIFOs and other non-regular files), with the reason; prepare
   * records them in the manifest's `skipped`.
   */
  skipped?: Array<{ file: string; reason: string }>;
  /** Default share of patients per split when the source has no division. */
  defaultShares?: { train: number; val: number; test: number };
}

/** Options that importers read (the CLI's flags). */
export interface ImportOptions {
  /** eyepacs-dr: 'referable' (level ≥ 2, binary; default) or 'grades' (0–4, multiclass). */
  drLabels?: 'referable' | 'grades';
  /** csv / dicom: the label table (dicom: optional; csv: the source itself). */
  labelsFile?: string;
  pathColumn?: string;
  /** One column holding a class name or index per row (multiclass / binary). */
  labelColumn?: string;
  /** Several 0/1 columns, one per class (multilabel). */
  labelColumns?: string[];
  patientColumn?: string;
  /** A column with train / val / test per row (the source's own division). */
  splitColumn?: string;
  /** Class names in label order (csv: the values of --label-column; default: sorted values). */
  classes?: string[];
  /** A regular expression whose first group, applied to the file's path, is the patient id. */
  patientPattern?: string;
}

/** Image files sharp decodes. */
export const kImageExtensions = ['.png', '.jpg', '.jpeg', '.tif', '.tiff', '.webp'];
