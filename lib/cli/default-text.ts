/**
 * The "(default: …)" of an option's --help line, derived from where the default lives
 * (lib/config/train-config.ts, lib/eval/options.ts, …) so that help and behaviour cannot drift.
 * test/cli/help.test.ts checks that every option taking a value shows one.
 */
import { demoOverlay, presets, type TrainConfig } from '../config/train-config';

/** "(default: 256)". */
export function defaultText(value: unknown): string {
  return `(default: ${Array.isArray(value) ? value.join(',') : String(value)})`;
}

function fieldOf(config: TrainConfig, field: string): unknown {
  let node: unknown = config;
  for (const key of field.split('.')) node = (node as Record<string, unknown>)[key];
  return node;
}

function show(v: unknown): string {
  return Array.isArray(v) ? v.join(',') : String(v);
}

/**
 * A training field's default, per preset: "(default: from the preset — kaku2021 65536, mocov2
 * 65536; the demo run without --data: 4096)"; the demo overlay's value is added when it sets the
 * field (unless `demo` is false). `first` comes before the preset's values ("the store's; without
 * one"), `also` after them.
 */
export function presetDefaultText(field: string, o: { first?: string; also?: string; demo?: boolean } = {}): string {
  const perPreset = Object.entries(presets).map(([name, config]) => `${name} ${show(fieldOf(config, field))}`).join(', ');
  const demo = o.demo === false ? undefined : (demoOverlay as Record<string, unknown>)[field];
  const parts = [`${o.first ? `${o.first}, ` : ''}from the preset — ${perPreset}`];
  if (o.also) parts.push(o.also);
  if (demo !== undefined) parts.push(`the demo run without --data: ${show(demo)}`);
  return `(default: ${parts.join('; ')})`;
}
