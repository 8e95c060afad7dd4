/**
 * Renders a Vega-Lite specification headless: to SVG by Vega, and to PNG by sharp (librsvg).
 * Vega 5 / Vega-Lite 5 are used because they are CommonJS; Vega 6 is ESM-only.
 */
import { promises as fs } from 'fs';
import { loadSharp, loadVega } from './lazy-modules';

/** Writes `<file>.svg` and `<file>.png`; returns the two paths. */
export async function renderPlot(spec: object, file: string): Promise<[string, string]> {
  const { vega, vegaLite } = loadVega();
  const view = new vega.View(vega.parse(vegaLite.compile(spec).spec), { renderer: 'none' });
  const svg = await view.toSVG();
  view.finalize();
  await fs.writeFile(`${file}.svg`, svg);
  await loadSharp()(Buffer.from(svg), { density: 144 }).png().toFile(`${file}.png`);
  return [`${file}.svg`, `${file}.png`];
}
