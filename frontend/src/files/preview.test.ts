import { describe, expect, it } from 'vitest';
import { hasTextPreview, imageDataUrl, parseCsv, previewKindOf } from './preview';

describe('file previews (issue 11)', () => {
  it('shows images, CSV, text and other bytes each their way', () => {
    expect(['a.png', 'b.JPG', 'c.jpeg', 'd.gif', 'e.webp', 'f.svg'].map((p) => previewKindOf(p, true))).toEqual(Array(6).fill('image'));
    expect(previewKindOf('data.csv', false)).toBe('csv');
    expect(previewKindOf('main.py', false)).toBe('text');
    expect(previewKindOf('model.bin', true)).toBe('binary');
    expect(previewKindOf('.png', true)).toBe('binary');
    expect([hasTextPreview('x.svg'), hasTextPreview('x.csv'), hasTextPreview('x.py')]).toEqual([true, true, false]);
  });

  it('makes data: URLs (not blob: URLs of our origin) for pictures, SVG included', () => {
    expect(imageDataUrl('p.svg', new TextEncoder().encode('<svg/>'))).toBe('data:image/svg+xml;base64,PHN2Zy8+');
    expect(imageDataUrl('p.png', Uint8Array.of(0x89, 0x50))).toBe('data:image/png;base64,iVA=');
  });

  it('parses CSV with quotes, escaped quotes, CRLF and a missing last newline, and caps rows', () => {
    expect(parseCsv('a,b\r\n"x, y","say ""hi"""\n1,\n3,4')).toEqual({ rows: [['a', 'b'], ['x, y', 'say "hi"'], ['1', ''], ['3', '4']], more: false });
    expect(parseCsv('1\n2\n3\n4\n', { maxRows: 2 })).toEqual({ rows: [['1'], ['2']], more: true });
    expect(parseCsv('a\tb\n', { separator: '\t' }).rows).toEqual([['a', 'b']]);
  });
});
