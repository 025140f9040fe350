import type { IncomingMessage } from 'node:http';

export interface Upload {
  data: Buffer;
  filename?: string;
}

/**
 * multipart/form-data as grammY writes it (Node's own FormData parser refuses grammY's header
 * style, "content-disposition:form-data;name=...", which real servers accept).
 */
export function parseMultipart(body: Buffer, contentType: string): { name: string; filename?: string; data: Buffer }[] {
  const boundary = /boundary=(?:"([^"]+)"|([^;]+))/i.exec(contentType);
  if (!boundary) throw new Error('multipart body without a boundary');
  const delimiter = Buffer.from(`--${boundary[1] ?? boundary[2]}`);
  const parts: { name: string; filename?: string; data: Buffer }[] = [];
  let start = body.indexOf(delimiter);
  while (start >= 0) {
    const next = body.indexOf(delimiter, start + delimiter.length);
    if (next < 0) break;
    const chunk = body.subarray(start + delimiter.length, next);
    const headerEnd = chunk.indexOf('\r\n\r\n');
    if (headerEnd >= 0) {
      const headers = chunk.subarray(0, headerEnd).toString('utf8');
      let data = chunk.subarray(headerEnd + 4);
      if (data.subarray(-2).toString() === '\r\n') data = data.subarray(0, -2);
      const name = /name="([^"]*)"/i.exec(headers)?.[1];
      const filename = /filename=(?:"([^"]*)"|([^;\r\n]+))/i.exec(headers)?.slice(1).find((v) => v !== undefined);
      if (name !== undefined) parts.push({ name, ...(filename !== undefined ? { filename } : {}), data });
    }
    start = next;
  }
  return parts;
}

export async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** The parameters of a Bot API call: JSON, urlencoded or multipart (uploads by `attach://`). */
export function parseApiBody(body: Buffer, contentType: string): { params: Record<string, unknown>; files: Record<string, Upload> } {
  const params: Record<string, unknown> = {};
  const files: Record<string, Upload> = {};
  if (body.length === 0) return { params, files };
  if (contentType.includes('application/json')) return { params: JSON.parse(body.toString('utf8')) as Record<string, unknown>, files };
  if (contentType.includes('multipart/form-data')) {
    for (const part of parseMultipart(body, contentType)) {
      if (part.filename !== undefined) files[part.name] = { data: part.data, filename: part.filename };
      else {
        const value = part.data.toString('utf8');
        try {
          params[part.name] = /^[[{]/.test(value) ? JSON.parse(value) : value;
        } catch {
          params[part.name] = value;
        }
      }
    }
  } else {
    for (const [key, value] of new URLSearchParams(body.toString('utf8'))) params[key] = value;
  }
  for (const [key, value] of Object.entries(params)) {
    if (typeof value === 'string' && value.startsWith('attach://')) {
      const file = files[value.slice('attach://'.length)];
      if (file) files[key] = file;
    }
  }
  return { params, files };
}
