import { labelFractions, patientSplits, seededPermutation } from '../../lib/data/splits';

describe('splits and label fractions', () => {
  test('seeded permutations are permutations, reproducible, and differ between seeds', () => {
    const a = seededPermutation(1000, 7);
    expect([...a].sort((x, y) => x - y)).toEqual(Array.from({ length: 1000 }, (_, i) => i));
    expect(seededPermutation(1000, 7)).toEqual(a);
    expect(seededPermutation(1000, 8)).not.toEqual(a);
  });

  test('patient-level 70/20/10 splits: no patient in two splits, shares by patient', () => {
    // 300 patients with 1–5 images each.
    const patients: string[] = [];
    for (let p = 0; p < 300; p++) for (let k = 0; k <= p % 5; k++) patients.push(`patient-${p}`);
    const splits = patientSplits(patients, 11);
    const of = new Map<string, Set<string>>();
    patients.forEach((p, i) => (of.get(p) ?? of.set(p, new Set()).get(p)!).add(splits[i]));
    for (const s of of.values()) expect(s.size).toBe(1);
    const count = (name: string) => [...of.values()].filter((s) => s.has(name)).length;
    expect([count('train'), count('val'), count('test')]).toEqual([210, 60, 30]);
    expect(patientSplits(patients, 11)).toEqual(splits);
    expect(patientSplits(patients, 12)).not.toEqual(splits);
    expect(() => patientSplits(patients, 1, { train: 0.5, val: 0.2, test: 0.2 })).toThrow(/sum to 1/);
  });

  test('label fractions are nested and stratified (multiclass)', () => {
    // 10,000 samples, class c has (c + 1) · 10% of… i.e. unequal class sizes.
    const labels = Array.from({ length: 10000 }, (_, i) => (i % 10 < 4 ? 0 : i % 10 < 7 ? 1 : i % 10 < 9 ? 2 : 3));
    const fr = labelFractions(labels, [0.01, 0.06, 1], 5);
    const one = fr.get(0.01)!;
    const six = fr.get(0.06)!;
    expect(fr.get(1)!.length).toBe(10000);
    expect(one.length).toBe(100);
    expect(six.length).toBe(600);
    const inSix = new Set(six);
    expect(one.every((i) => inSix.has(i))).toBe(true); // 1% ⊂ 6%
    const share = (idx: number[], c: number) => idx.filter((i) => labels[i] === c).length / idx.length;
    for (const [c, p] of [[0, 0.4], [1, 0.3], [2, 0.2], [3, 0.1]]) {
      expect(share(one, c)).toBeCloseTo(p, 2);
      expect(share(six, c)).toBeCloseTo(p, 2);
    }
    expect(labelFractions(labels, [0.01], 5).get(0.01)).toEqual(one); // reproducible
    expect(labelFractions(labels, [0.01], 6).get(0.01)).not.toEqual(one);
  });

  test('multilabel: stratified by label combination, every combination represented', () => {
    const labels = Array.from({ length: 2000 }, (_, i) => [i % 2, i % 3 === 0 ? 1 : 0, i % 50 === 0 ? 1 : 0]);
    const fr = labelFractions(labels, [0.01, 0.1], 3);
    const keys = (idx: number[]) => new Set(idx.map((i) => labels[i].join('')));
    expect(keys(fr.get(0.01)!)).toEqual(keys(Array.from({ length: 2000 }, (_, i) => i)));
    expect(fr.get(0.01)!.every((i) => fr.get(0.1)!.includes(i))).toBe(true);
    expect(() => labelFractions(labels, [0], 1)).toThrow(/in \(0, 1\]/);
  });
});
