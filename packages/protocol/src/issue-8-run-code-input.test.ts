import { describe, expect, it } from 'vitest';
import { runCodeInputSchema } from './index.js';

describe('issue 8: runCode accepts the seed payload {language, source}', () => {
  it('turns {language, source} into a one-file run of the default entry', () => {
    expect(runCodeInputSchema.parse({ language: 'py', source: "print('hello')" })).toEqual({
      language: 'py',
      entry: 'main.py',
      files: [{ path: 'main.py', content: "print('hello')" }],
    });
  });

  it('writes source to an explicit entry, and keeps stdin, limits and roomId', () => {
    const parsed = runCodeInputSchema.parse({ language: 'py', source: 'x', entry: 'prog.py', stdin: 'in', roomId: 'r1', limits: { timeoutMs: 1000 } });
    expect(parsed).toEqual({ language: 'py', entry: 'prog.py', files: [{ path: 'prog.py', content: 'x' }], stdin: 'in', roomId: 'r1', limits: { timeoutMs: 1000 } });
  });

  it("keeps today's {roomId, files, entry} form", () => {
    const files = [{ path: 'a.py', content: '1' }, { path: 'main.py', content: '2' }];
    expect(runCodeInputSchema.parse({ roomId: 'r', files })).toEqual({ roomId: 'r', language: 'py', entry: 'main.py', files });
  });

  it('refuses source and files together, and neither, saying so', () => {
    const both = runCodeInputSchema.safeParse({ language: 'py', source: 'x', files: [{ path: 'main.py', content: 'y' }] });
    expect(both.error?.issues.map((i) => i.message)).toEqual(['give either source (a one-file run) or files, not both']);
    const neither = runCodeInputSchema.safeParse({ language: 'py' });
    expect(neither.error?.issues.map((i) => i.message)).toEqual(['give files (including the entry file) or source (a one-file run)']);
  });

  it('still refuses unknown keys and bad types', () => {
    expect(runCodeInputSchema.safeParse({ language: 'py', source: 'x', code: 'y' }).success).toBe(false);
    expect(runCodeInputSchema.safeParse({ language: 'py', source: 42 }).success).toBe(false);
  });
});
