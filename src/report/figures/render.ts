/**
 * Vega-Lite spec → Vega → headless View → SVG (view.toSVG(), no canvas needed) → PNG with sharp.
 * The spec is written beside the images as `<name>.vl.json`, so a figure can be reopened in the Vega editor.
 */
import { writeFile } from 'node:fs/promises';
import sharp from 'sharp';
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';

export interface RenderedFigure {
  svg: string;
  png: string;
  vegaLite: string;
  /** PNG pixels (= SVG size × scale) */
  width: number;
  height: number;
  /** SVG user units */
  svgWidth: number;
  svgHeight: number;
}

/** PNG pixels per SVG unit: 2 gives figures that stay sharp on high-density screens and in slides. */
export const PNG_SCALE = 2;

export function svgSize(svg: string): { width: number; height: number } {
  const head = /<svg[^>]*>/.exec(svg)?.[0] ?? '';
  const width = Number(/\swidth="([\d.]+)"/.exec(head)?.[1]);
  const height = Number(/\sheight="([\d.]+)"/.exec(head)?.[1]);
  if (!(width > 0 && height > 0)) throw new Error(`rendered SVG has no positive width/height: ${head.slice(0, 200)}`);
  return { width, height };
}

export async function renderVegaLite(spec: TopLevelSpec, basePath: string, scale = PNG_SCALE): Promise<RenderedFigure> {
  const vgSpec = compile(spec).spec;
  const view = new vega.View(vega.parse(vgSpec), { renderer: 'none' });
  let svg: string;
  try {
    svg = await view.toSVG();
  } finally {
    view.finalize();
  }
  const { width: svgWidth, height: svgHeight } = svgSize(svg);
  const paths = { svg: `${basePath}.svg`, png: `${basePath}.png`, vegaLite: `${basePath}.vl.json` };
  // density is in DPI: librsvg's default of 72 maps one SVG unit to one pixel
  const info = await sharp(Buffer.from(svg), { density: 72 * scale })
    .png()
    .toFile(paths.png);
  await writeFile(paths.svg, svg);
  await writeFile(paths.vegaLite, JSON.stringify(spec, null, 2) + '\n');
  return { ...paths, width: info.width, height: info.height, svgWidth, svgHeight };
}
