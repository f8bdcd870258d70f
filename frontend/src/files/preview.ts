/**
 * What the editor area shows for a file (issue 11): Monaco for text, a picture
 * for PNG, JPEG, GIF, WebP and SVG, a table for CSV, a download for anything
 * else. Pictures are `data:` URLs in an `<img>`: an SVG shown that way never
 * runs its scripts, and a `data:` document opened on its own has no origin
 * (unlike a `blob:` URL, which would be ours).
 * @module
 */
import { bytesToBase64 } from '@codecell/protocol';

/** How a file is shown. */
export type PreviewKind = 'image' | 'csv' | 'text' | 'binary';

const IMAGE_TYPES: Readonly<Record<string, string>> = {
  png: 'image/png',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  gif: 'image/gif',
  webp: 'image/webp',
  svg: 'image/svg+xml',
};

function extension(path: string): string {
  const name = path.slice(path.lastIndexOf('/') + 1);
  const dot = name.lastIndexOf('.');
  return dot > 0 ? name.slice(dot + 1).toLowerCase() : '';
}

/** The image type of a path by its extension, or null. */
export function imageTypeOf(path: string): string | null {
  return IMAGE_TYPES[extension(path)] ?? null;
}

/** How to show a file: `binary` is whether the room holds it as bytes. */
export function previewKindOf(path: string, binary: boolean): PreviewKind {
  if (imageTypeOf(path) !== null) return 'image';
  if (extension(path) === 'csv' || extension(path) === 'tsv') return 'csv';
  return binary ? 'binary' : 'text';
}

/** True when a text file also has a preview (SVG, CSV): the editor offers Preview and Source. */
export function hasTextPreview(path: string): boolean {
  const kind = previewKindOf(path, false);
  return kind === 'image' || kind === 'csv';
}

/** A `data:` URL of an image's bytes. */
export function imageDataUrl(path: string, bytes: Uint8Array): string {
  return `data:${imageTypeOf(path) ?? 'application/octet-stream'};base64,${bytesToBase64(bytes)}`;
}

/** Rows a CSV table shows at most. */
export const MAX_PREVIEW_ROWS = 500;

/**
 * Parses CSV (RFC 4180: quoted fields, `""` for a quote, CRLF or LF) or TSV,
 * up to `maxRows` rows. `more` says whether rows were left out.
 */
export function parseCsv(text: string, o: { separator?: string; maxRows?: number } = {}): { rows: string[][]; more: boolean } {
  const sep = o.separator ?? ',';
  const maxRows = o.maxRows ?? MAX_PREVIEW_ROWS;
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  let i = 0;
  const endRow = (): void => {
    row.push(field);
    rows.push(row);
    row = [];
    field = '';
  };
  for (; i < text.length && rows.length < maxRows; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') {
        quoted = false;
      } else {
        field += c;
      }
    } else if (c === '"' && field === '') {
      quoted = true;
    } else if (c === sep) {
      row.push(field);
      field = '';
    } else if (c === '\n') {
      endRow();
    } else if (c !== '\r') {
      field += c;
    }
  }
  if (rows.length < maxRows && (field !== '' || row.length > 0)) endRow();
  return { rows, more: i < text.length && text.slice(i).trim() !== '' };
}
