import jsQRModule from 'jsqr';

// jsqr is CommonJS with a default export; under ESM it arrives wrapped once more.
const jsQR = ((jsQRModule as unknown as { default?: unknown }).default ?? jsQRModule) as unknown as typeof jsQRModule.default;
import { PNG } from 'pngjs';

/** Reads the text encoded in a QR code PNG, as a phone camera would. */
export function decodeQr(png: Buffer): string {
  const image = PNG.sync.read(png);
  const code = jsQR(new Uint8ClampedArray(image.data), image.width, image.height);
  if (!code) throw new Error('no QR code found in the image');
  return code.data;
}
