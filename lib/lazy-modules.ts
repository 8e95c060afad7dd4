/**
 * The heavy dependencies — sharp (libvips, ~20 MiB) and Vega / Vega-Lite (~27 MiB) — loaded on
 * first use rather than when the CLI starts: commands that never decode an image or draw a plot
 * start faster, and run where these packages are absent (scripts/prepare-device.sh ships the
 * GPU check without them, to stay under the device's 64 MiB transfer limit).
 */
import type SharpFactory from 'sharp';
import type * as Vega from 'vega';

/* eslint-disable @typescript-eslint/no-require-imports */

/** sharp's factory function. */
export function loadSharp(): typeof SharpFactory {
  return require('sharp') as typeof SharpFactory;
}

/** Vega and Vega-Lite's compiler (Vega 5 / Vega-Lite 5: CommonJS; Vega 6 is ESM-only). */
export function loadVega(): { vega: typeof Vega; vegaLite: { compile(spec: object): { spec: Vega.Spec } } } {
  return { vega: require('vega') as typeof Vega, vegaLite: require('vega-lite') };
}
