import { Readable } from 'node:stream';
import { createInflateRaw } from 'node:zlib';

/**
 * The parts of a ZIP file held in memory, found through its central directory: each opens as a
 * stream of its contents (inflated as it is read, so a large sheet is never held whole).
 * Throws on anything that is not a plain ZIP (ZIP64, encryption, an unknown compression).
 */
export function zipParts(bytes: Buffer): Map<string, () => Readable> {
  // The end record is the last thing in the file, before a comment of at most 64 KB.
  let end = -1;
  for (let i = bytes.length - 22; i >= Math.max(0, bytes.length - 22 - 0xffff); i--) {
    if (bytes.readUInt32LE(i) === 0x06054b50) {
      end = i;
      break;
    }
  }
  if (end < 0) throw new Error('not a ZIP file: no end of central directory');
  const count = bytes.readUInt16LE(end + 10);
  let at = bytes.readUInt32LE(end + 16);
  const parts = new Map<string, () => Readable>();
  for (let n = 0; n < count; n++) {
    if (bytes.readUInt32LE(at) !== 0x02014b50) throw new Error(`ZIP central directory damaged at ${at}`);
    const flags = bytes.readUInt16LE(at + 8);
    const method = bytes.readUInt16LE(at + 10);
    const size = bytes.readUInt32LE(at + 20);
    const nameLength = bytes.readUInt16LE(at + 28);
    const local = bytes.readUInt32LE(at + 42);
    const name = bytes.toString('utf8', at + 46, at + 46 + nameLength);
    if (flags & 1) throw new Error(`ZIP part ${name} is encrypted`);
    if (method !== 0 && method !== 8) throw new Error(`ZIP part ${name} uses compression method ${method}`);
    if (size === 0xffffffff || local === 0xffffffff) throw new Error(`ZIP part ${name} needs ZIP64`);
    if (bytes.readUInt32LE(local) !== 0x04034b50) throw new Error(`ZIP part ${name} has no local header`);
    const start = local + 30 + bytes.readUInt16LE(local + 26) + bytes.readUInt16LE(local + 28);
    const data = bytes.subarray(start, start + size);
    parts.set(name, () => (method === 8 ? Readable.from([data], { objectMode: false }).pipe(createInflateRaw()) : Readable.from([data], { objectMode: false })));
    at += 46 + nameLength + bytes.readUInt16LE(at + 30) + bytes.readUInt16LE(at + 32);
  }
  return parts;
}
