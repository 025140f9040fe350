import { PNG } from 'pngjs';

/**
 * What a chart's PNG holds: its size, how many distinct colours and the share of pixels that are
 * not the white background (a drawing, not a blank page). Throws on bytes that are not a PNG.
 */
export function pictureOf(bytes: Buffer | undefined) {
  if (!bytes || bytes.subarray(1, 4).toString() !== 'PNG') throw new Error('not a PNG');
  const png = PNG.sync.read(bytes);
  const colours = new Set<number>();
  let inked = 0;
  for (let i = 0; i < png.data.length; i += 4) {
    const [r, g, b] = [png.data[i]!, png.data[i + 1]!, png.data[i + 2]!];
    colours.add((r << 16) | (g << 8) | b);
    if (r < 250 || g < 250 || b < 250) inked++;
  }
  return { width: png.width, height: png.height, size: [png.width, png.height], colours: colours.size, inked: inked / (png.width * png.height) };
}
