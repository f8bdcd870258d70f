/**
 * Reads and parses request bodies at the HTTP edge: size cap, strict UTF-8,
 * JSON, then a zod schema, each failure a CodeCellError with a stable code.
 * @module
 */
import type { IncomingMessage } from 'node:http';
import type { z } from 'zod';
import { CodeCellError, LANGUAGE_NAMES, RUNTIME_IDS } from '@codecell/protocol';

/** Reads the whole body, refusing more than `maxBytes`. */
export async function readBody(req: IncomingMessage, maxBytes: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? NaN);
  if (Number.isFinite(declared) && declared > maxBytes) {
    throw new CodeCellError('payload_too_large', `request body is ${declared} bytes; the limit is ${maxBytes} bytes`);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxBytes) throw new CodeCellError('payload_too_large', `request body is over the limit of ${maxBytes} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Parses a JSON body against `schema`; empty bodies parse as `{}` when `allowEmpty`. */
export function parseJsonBody<TSchema extends z.ZodType>(body: Buffer, schema: TSchema, allowEmpty = false): z.infer<TSchema> {
  let text: string;
  try {
    text = utf8.decode(body);
  } catch {
    throw new CodeCellError('bad_json', 'request body is not valid UTF-8');
  }
  let value: unknown;
  if (text.trim() === '' && allowEmpty) value = {};
  else {
    try {
      value = JSON.parse(text);
    } catch (err) {
      throw new CodeCellError('bad_json', `request body is not valid JSON: ${(err as Error).message}`);
    }
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    const issues = parsed.error.issues;
    const lang = issues.find((i) => i.path.length === 1 && i.path[0] === 'language' && i.code === 'invalid_value');
    if (lang) {
      throw new CodeCellError('unsupported_language', `language ${JSON.stringify((value as { language?: unknown }).language)} is not supported; use one of: ${RUNTIME_IDS.join(', ')} (or an alias: ${LANGUAGE_NAMES.filter((n) => !(RUNTIME_IDS as readonly string[]).includes(n)).join(', ')})`);
    }
    const text = issues
      .slice(0, 5)
      .map((i) => `${i.path.length ? i.path.join('.') : '(body)'}: ${i.message}`)
      .join('; ');
    const code = issues.some((i) => i.path.includes('path') || i.path[0] === 'entry') ? 'invalid_path' : 'invalid_request';
    throw new CodeCellError(code, `invalid request: ${text}`);
  }
  return parsed.data;
}
