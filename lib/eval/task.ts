/** What a store's task means for evaluation: that it has labels, and how many columns its probabilities have. */
import { ImlmError } from '../errors';
import type { Manifest, Task } from '../data/store';

/** The store's task, refusing an unlabeled store (task 'none': prepared for pre-training only). */
export function labelledTask(manifest: Manifest): Exclude<Task, 'none'> {
  if (manifest.task === 'none') {
    throw new ImlmError(
      `${manifest.source} was prepared without labels (task 'none'); evaluation needs a labelled store (prepare it with its labels)`,
      'ERR_INVALID_ARG',
    );
  }
  return manifest.task;
}

/** K: the width of the probabilities (binary: 2 columns, positive = column 1). */
export function classCount(manifest: Manifest): number {
  return manifest.task === 'binary' ? 2 : manifest.classes.length;
}
