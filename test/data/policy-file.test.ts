// Custom augmentation policies from JSON/YAML files (lib/data/policy-file.ts via resolvePolicy).
import { mkdtempSync, writeFileSync } from 'fs';
import os from 'os';
import path from 'path';
import { policies, resolvePolicy } from '../../lib';
import { augmentBatch } from '../../lib/data/augment';
import { tensor } from '../../lib/tensor';

const dir = mkdtempSync(path.join(os.tmpdir(), 'imlm-policy-'));
function file(name: string, text: string): string {
  const p = path.join(dir, name);
  writeFileSync(p, text);
  return p;
}

describe('policy files', () => {
  test('YAML: fields override the base policy, the rest is kept', () => {
    const p = resolvePolicy(file('bch-no-blur.yaml', '# no blur, milder rotation\nbase: kaku2021-bch\nblurP: 0\nrotationDegrees: 10\n'));
    expect(p).toEqual({ ...policies['kaku2021-bch'], blurP: 0, rotationDegrees: 10 });
  });

  test("JSON without base starts from 'none'", () => {
    const p = resolvePolicy(file('flip.json', JSON.stringify({ hflipP: 0.5, vflipP: 0.5 })));
    expect(p).toEqual({ ...policies.none, hflipP: 0.5, vflipP: 0.5 });
  });

  test('the policy from a file is the one applied: vflipP 1 flips every image', async () => {
    const p = file('vflip.yml', 'vflipP: 1\n');
    const input = tensor(Float32Array.from({ length: 2 * 1 * 4 * 4 }, (_, i) => i / 32), [2, 1, 4, 4]);
    const { images, params } = await augmentBatch(input, p, 4, 0);
    expect(Array.from(params.vflip.toTypedArray() as Float64Array)).toEqual([1, 1]);
    const out = images.toTypedArray() as Float32Array;
    const src = input.toTypedArray() as Float32Array;
    // Row 0 of the output is row 3 of the input.
    for (let x = 0; x < 4; x++) expect(out[x]).toBeCloseTo(src[12 + x], 5);
  });

  test.each([
    ['unknown field', 'hflip: 0.5\n', /\.yaml: \/hflip: expected no field 'hflip' but found one/],
    ['probability out of range', 'blurP: 1.5\n', /\.yaml: \/blurP: expected a number <= 1 but found 1.5/],
    ['min above max', 'crop: true\nscaleMin: 0.9\nscaleMax: 0.5\n', /\.yaml: \/scaleMin: expected scaleMin <= scaleMax \(0.5\) but found 0.9/],
    ['unknown base', 'base: simclr\n', /\.yaml: \/base: expected a named policy .* but found 'simclr'/],
    ['a __proto__ key', '__proto__: {blurP: 1}\n', /\.yaml: \/__proto__: expected no key named __proto__/],
    ['constructor as base', 'base: constructor\n', /\/base: expected a named policy/],
    ['not a mapping', '- 1\n- 2\n', /to hold a mapping of policy fields/],
    ['not YAML', 'a: [1, 2\n', /is not valid YAML/],
  ])('refused with ERR_FORMAT naming file and field: %s', (_, text, message) => {
    const p = file(`bad-${Math.random().toString(36).slice(2)}.yaml`, text);
    expect(() => resolvePolicy(p)).toThrow(expect.objectContaining({ code: 'ERR_FORMAT', message: expect.stringMatching(message) }));
    expect(() => resolvePolicy(p)).toThrow(p);
  });

  test('a missing file is ERR_IO naming it', () => {
    const missing = path.join(dir, 'missing.yaml');
    expect(() => resolvePolicy(missing)).toThrow(expect.objectContaining({ code: 'ERR_IO', message: expect.stringContaining(missing) }));
  });
});

describe('policy objects are checked as policy files are (one schema, one set of checks)', () => {
  test.each([
    ['unknown field', { hflip: 0.5 }, 'hflip: 0.5\n', /hflip/],
    ['probability out of range', { blurP: 1.5 }, 'blurP: 1.5\n', /a number <= 1\b/],
    ['rotation out of range', { rotationDegrees: 200 }, 'rotationDegrees: 200\n', /a number <= 180\b/],
    ['a number where a boolean belongs', { crop: 1 }, 'crop: 1\n', /a value of type boolean/],
    ['min above max', { crop: true, scaleMin: 0.9, scaleMax: 0.5 }, 'crop: true\nscaleMin: 0.9\nscaleMax: 0.5\n', /scaleMin <= (policy\.)?scaleMax/],
    ['unknown base', { base: 'simclr' }, 'base: simclr\n', /a named policy .*'simclr'/],
    ['a __proto__ key', JSON.parse('{"__proto__": {"blurP": 1}}'), '__proto__: {blurP: 1}\n', /__proto__/],
  ])('%s: ERR_INVALID_ARG for the object, ERR_FORMAT for the file', (_, object, text, message) => {
    expect(() => resolvePolicy(object)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG', message: expect.stringMatching(message) }));
    const p = file(`same-${Math.random().toString(36).slice(2)}.yaml`, text);
    expect(() => resolvePolicy(p)).toThrow(expect.objectContaining({ code: 'ERR_FORMAT', message: expect.stringMatching(message) }));
  });

  test('an object may start from a named base, as a file does', () => {
    const fromFile = resolvePolicy(file('base.yaml', 'base: kaku2021-bch\nblurP: 0\n'));
    expect(resolvePolicy({ base: 'kaku2021-bch', blurP: 0 })).toEqual(fromFile);
    expect(fromFile).toEqual({ ...policies['kaku2021-bch'], blurP: 0 });
  });

  test("an object's missing fields are those of 'none'", () => {
    expect(resolvePolicy({ hflipP: 0.5 })).toEqual({ ...policies.none, hflipP: 0.5 });
  });
});
