import { describe, expect, it } from 'vitest';
import { SandboxFirstOutput } from './sandboxFirstOutput.js';

describe('SandboxFirstOutput', () => {
  it('reads the first-output lines of the sandbox log, split anywhere, and nothing else', async () => {
    const log = new SandboxFirstOutput();
    const text =
      '2026-12-03T16:00:00.000Z debug [sandbox] first output {"jobId":"jA","afterMs":26.125}\n' +
      '2026-12-03T16:00:00.001Z info  [sandbox] listening {"url":"http://127.0.0.1:5000"}\n' +
      '2026-12-03T16:00:00.002Z debug [sandbox] first output {"jobId":"jB","afterMs":3.5}\n';
    for (let i = 0; i < text.length; i += 7) log.feed(text.slice(i, i + 7));
    expect(log.of('jA')).toBe(26.125);
    expect(log.of('jB')).toBe(3.5);
    expect(log.of('listening')).toBeUndefined();
    await log.waitFor(['jA', 'jB']);
    await expect(log.waitFor(['jA', 'jC'], 100)).rejects.toThrow(/1 of 2 runs/);
  });
});
