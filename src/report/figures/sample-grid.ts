/**
 * One image per dataset with each model's best run's `samples.png` side by side under a label (model, the
 * metric it is best by, its value and the run's name). Samples are scaled with nearest-neighbour so pixels of
 * small images stay visible; a model whose best run has no samples.png gets a grey tile that says so.
 */
import sharp from 'sharp';

export const SAMPLE_TILE = 256;
export const SAMPLE_LABEL_HEIGHT = 44;
export const SAMPLE_GAP = 12;

export interface SampleTile {
  /** first label line (model) and second (what it is best by) */
  title: string;
  subtitle: string;
  /** PNG (any size) or undefined when the run has no samples */
  image?: Buffer;
}

export function sampleGridSize(nTiles: number): { width: number; height: number } {
  return {
    width: nTiles * SAMPLE_TILE + (nTiles + 1) * SAMPLE_GAP,
    height: SAMPLE_LABEL_HEIGHT + SAMPLE_TILE + 2 * SAMPLE_GAP,
  };
}

function escapeXml(s: string): string {
  return s.replace(
    /[<>&'"]/g,
    (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' })[c] ?? c,
  );
}

function clip(s: string, max: number): string {
  return s.length <= max ? s : `${s.slice(0, max - 1)}…`;
}

function labelSvg(title: string, subtitle: string): Buffer {
  return Buffer.from(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${SAMPLE_TILE}" height="${SAMPLE_LABEL_HEIGHT}">` +
      `<text x="2" y="17" font-family="sans-serif" font-size="15" font-weight="bold">${escapeXml(clip(title, 30))}</text>` +
      `<text x="2" y="37" font-family="sans-serif" font-size="11" fill="#444">${escapeXml(clip(subtitle, 44))}</text>` +
      `</svg>`,
  );
}

async function tileImage(image: Buffer | undefined): Promise<Buffer> {
  if (image) {
    return sharp(image)
      .resize(SAMPLE_TILE, SAMPLE_TILE, { fit: 'contain', kernel: 'nearest', background: '#ffffff' })
      .removeAlpha()
      .png()
      .toBuffer();
  }
  const svg =
    `<svg xmlns="http://www.w3.org/2000/svg" width="${SAMPLE_TILE}" height="${SAMPLE_TILE}">` +
    `<rect width="100%" height="100%" fill="#e5e5e5"/>` +
    `<text x="50%" y="50%" text-anchor="middle" font-family="sans-serif" font-size="14" fill="#666">no samples.png</text></svg>`;
  return sharp(Buffer.from(svg)).png().toBuffer();
}

export async function writeSampleGrid(
  tiles: readonly SampleTile[],
  pngPath: string,
): Promise<{ width: number; height: number }> {
  if (tiles.length === 0) throw new Error('writeSampleGrid needs at least one tile');
  const size = sampleGridSize(tiles.length);
  const layers: sharp.OverlayOptions[] = [];
  for (const [i, t] of tiles.entries()) {
    const left = SAMPLE_GAP + i * (SAMPLE_TILE + SAMPLE_GAP);
    layers.push({ input: labelSvg(t.title, t.subtitle), left, top: SAMPLE_GAP });
    layers.push({ input: await tileImage(t.image), left, top: SAMPLE_GAP + SAMPLE_LABEL_HEIGHT });
  }
  const info = await sharp({ create: { width: size.width, height: size.height, channels: 3, background: '#ffffff' } })
    .composite(layers)
    .png()
    .toFile(pngPath);
  return { width: info.width, height: info.height };
}
