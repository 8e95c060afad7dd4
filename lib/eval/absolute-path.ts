/** Paths as the evaluation results record them: absolute, so a result still names its inputs after a change of folder. */
import path from 'path';

export const absolute = (p: string) => path.resolve(p);
