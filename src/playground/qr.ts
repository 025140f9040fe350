import jsQRModule from 'jsqr';
import { PNG } from 'pngjs';

// jsqr is CommonJS with a default export; under ESM it arrives wrapped once more.
const jsQR = ((jsQRModule as unknown as { default?: unknown }).default ?? jsQRModule) as unknown as typeof jsQRModule.default;

/** The text in a QR code PNG, as the cashier's phone camera reads it; null when there is none. */
export function readQr(png: Buffer): string | null {
  try {
    const image = PNG.sync.read(png);
    return jsQR(new Uint8ClampedArray(image.data), image.width, image.height)?.data ?? null;
  } catch {
    return null;
  }
}
