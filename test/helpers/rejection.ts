/** The error a Promise rejects with; fails the test when it resolves instead. */
import type { ImlmError } from '../../lib';

export async function rejection(p: Promise<unknown>): Promise<ImlmError> {
  try {
    await p;
  } catch (e) {
    return e as ImlmError;
  }
  throw new Error('expected a rejection');
}
