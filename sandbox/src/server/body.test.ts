import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { CodeCellError, ERROR_CODES, runRequestSchema } from '@codecell/protocol';
import { parseJsonBody } from './body.js';
import { mergeOutput } from '../runs/mergeOutput.js';

const parse = (body: string | Buffer) => parseJsonBody(typeof body === 'string' ? Buffer.from(body) : body, runRequestSchema);
const codeOf = (fn: () => unknown): string | undefined => {
  try {
    fn();
    return undefined;
  } catch (err) {
    return (err as CodeCellError).code;
  }
};

describe('parseJsonBody (POST /run)', () => {
  it('accepts the documented request', () => {
    expect(parse('{"language":"py","source":"print(1)","files":[{"path":"a/b.py","content":""}],"sessionId":"room-1"}').source).toBe('print(1)');
  });

  it('maps each kind of bad body to a stable code', () => {
    expect(codeOf(() => parse(''))).toBe('bad_json');
    expect(codeOf(() => parse('{'))).toBe('bad_json');
    expect(codeOf(() => parse(Buffer.from([0x22, 0xc3, 0x28, 0x22])))).toBe('bad_json');
    expect(codeOf(() => parse('{"language":"cobol","source":""}'))).toBe('unsupported_language');
    expect(codeOf(() => parse('{"language":"py","source":"","files":[{"path":"../x","content":""}]}'))).toBe('invalid_path');
    expect(codeOf(() => parse('{"language":"py","source":"","files":[{"path":"a//b","content":""}]}'))).toBe('invalid_path');
    expect(codeOf(() => parse('{"language":"py","source":"","entry":"/etc/x"}'))).toBe('invalid_path');
    expect(codeOf(() => parse('{"language":"py","source":"","sessionId":"../../x"}'))).toBe('invalid_request');
    expect(codeOf(() => parse('{"language":"py","source":"","unknown":true}'))).toBe('invalid_request');
    expect(codeOf(() => parse('null'))).toBe('invalid_request');
  });

  it('only ever throws CodeCellErrors with known codes, whatever the body (fuzz, 10,000 cases)', () => {
    const anyBody = fc.oneof(
      fc.string(),
      fc.jsonValue().map((v) => JSON.stringify(v)),
      fc.record({ language: fc.oneof(fc.constant('py'), fc.string()), source: fc.oneof(fc.string(), fc.integer()), files: fc.anything() }).map((v) => JSON.stringify(v)),
      fc.uint8Array().map((b) => Buffer.from(b)),
    );
    fc.assert(
      fc.property(anyBody, (body) => {
        try {
          parse(body);
        } catch (err) {
          expect(err).toBeInstanceOf(CodeCellError);
          expect(ERROR_CODES).toContain((err as CodeCellError).code);
        }
      }),
      { numRuns: 10_000 },
    );
  });
});

describe('mergeOutput', () => {
  it('joins adjacent chunks of the same stream only', () => {
    expect(
      mergeOutput([
        { type: 'stdout', data: 'a' },
        { type: 'stdout', data: 'b' },
        { type: 'stderr', data: 'c' },
        { type: 'stdout', data: 'd' },
      ]),
    ).toEqual([
      { type: 'stdout', data: 'ab' },
      { type: 'stderr', data: 'c' },
      { type: 'stdout', data: 'd' },
    ]);
  });

  it('keeps the exact bytes of output that is not UTF-8 (issue 13) when it joins chunks', () => {
    const bad = Buffer.from([0x66, 0xff]);
    const merged = mergeOutput([
      { type: 'stdout', data: 'a' },
      { type: 'stdout', data: 'f\uFFFD', bytesB64: bad.toString('base64') },
      { type: 'stdout', data: 'é' },
    ]);
    expect(merged).toEqual([{ type: 'stdout', data: 'af\uFFFDé', bytesB64: Buffer.concat([Buffer.from('a'), bad, Buffer.from('é')]).toString('base64') }]);
  });
});
