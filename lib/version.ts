import { readFileSync } from 'fs';
import { join } from 'path';

/** Root of the installed package (this file is lib/version.ts or dist/version.js). */
export const packageRoot = join(__dirname, '..');

/** The package's version, from its package.json. */
export const packageVersion: string = JSON.parse(
  readFileSync(join(packageRoot, 'package.json'), 'utf8'),
).version;
