/**
 * Finds what a sandbox may have left behind: VMM processes that are children
 * of this process, run directories, cgroups.
 * @module
 */
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { expect } from 'vitest';

/** PIDs of live processes whose parent is `ppid` and whose command matches. */
export function childProcesses(ppid: number, commMatch: RegExp): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      // pid (comm) state ppid ...
      const m = /^\d+ \((.*)\) (\S) (\d+)/.exec(stat);
      if (m && Number(m[3]) === ppid && m[2] !== 'Z' && commMatch.test(m[1] ?? '')) out.push(Number(name));
    } catch {
      // exited meanwhile
    }
  }
  return out;
}

/** Cgroup directories named after a sandbox process that still exist. */
export function leftoverCgroups(pid: number): string[] {
  const name = `codecell-sandbox-${pid}`;
  return ['/sys/fs/cgroup', '/sys/fs/cgroup/memory', '/sys/fs/cgroup/pids', '/sys/fs/cgroup/cpu']
    .map((d) => `${d}/${name}`)
    .filter((p) => existsSync(p));
}

/** Disposes a sandbox and checks it left no QEMU process, run directory or cgroup behind. */
export async function disposeLeavingNothing(sb: { dispose(): Promise<void>; readonly runDir: string }): Promise<void> {
  const runDir = sb.runDir;
  await sb.dispose();
  expect(childProcesses(process.pid, /^qemu-system/)).toEqual([]);
  expect(existsSync(runDir)).toBe(false);
  expect(leftoverCgroups(process.pid)).toEqual([]);
}
