import jsQR from 'jsqr';
import { PNG } from 'pngjs';

/** Reads the text encoded in a QR code PNG, as a phone camera would. */
export function decodeQr(png: Buffer): string {
  const image = PNG.sync.read(png);
  const code = jsQR(new Uint8ClampedArray(image.data), image.width, image.height);
  if (!code) throw new Error('no QR code found in the image');
  return code.data;
}
