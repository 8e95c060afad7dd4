import { validate } from '../../lib/config/validate';
import { deviceSchema, shapeSchema, tensorOptionsSchema } from '../../lib/config/schemas';
import { ImlmError } from '../../lib/errors';

function errorOf(fn: () => unknown): ImlmError {
  try {
    fn();
  } catch (e) {
    return e as ImlmError;
  }
  throw new Error('expected a throw');
}

describe('validate', () => {
  test('accepts valid values and returns them', () => {
    expect(validate(deviceSchema, 'cuda:1', 'device')).toBe('cuda:1');
    expect(validate(shapeSchema, [2, 0, 3], 'shape')).toEqual([2, 0, 3]);
    expect(validate(tensorOptionsSchema, undefined, 'options')).toEqual({});
  });

  test('a bad enum says what is allowed and what was received', () => {
    const e = errorOf(() => validate(tensorOptionsSchema, { dtype: 'float16' }, 'options'));
    expect(e).toBeInstanceOf(ImlmError);
    expect(e.code).toBe('ERR_INVALID_ARG');
    expect(e.message).toBe(
      "Expected one of 'float32', 'float64', 'int64', 'int32', 'uint8', 'bool' for options.dtype but received 'float16'",
    );
  });

  test('a bad device names the pattern and the value', () => {
    const e = errorOf(() => validate(deviceSchema, 'gpu0', 'device'));
    expect(e.message).toMatch(/^Expected a string matching .* for device but received 'gpu0'$/);
  });

  test('negative or fractional shape entries name the index', () => {
    expect(errorOf(() => validate(shapeSchema, [2, -1], 'shape')).message).toBe(
      'Expected a number >= 0 for shape.1 but received -1',
    );
    expect(errorOf(() => validate(shapeSchema, [2.5], 'shape')).message).toBe(
      'Expected a value of type integer for shape.0 but received 2.5',
    );
  });

  test('unknown options are refused by name', () => {
    const e = errorOf(() => validate(tensorOptionsSchema, { dtype: 'float32', devcie: 'cpu' }, 'options'));
    expect(e.message).toMatch(/no option 'devcie'/);
  });

  test('the caller’s object is not modified', () => {
    const opts = { dtype: 'uint8' };
    validate(tensorOptionsSchema, opts, 'options');
    expect(opts).toEqual({ dtype: 'uint8' });
  });
});
