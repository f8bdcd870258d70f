/**
 * The image cache directory's housekeeping: one build at a time (a lock
 * directory that a dead builder's successor removes), and pruning old images.
 * @module
 */
import { mkdir, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { progress } from './exec.js';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Serialises builds (two `npm test`s, or a test and `npm start`); resolves with the release function. */
export async function lock(cacheDir: string): Promise<() => Promise<void>> {
  const dir = join(cacheDir, '.build-lock');
  for (let waited = 0; ; waited += 500) {
    try {
      await mkdir(dir);
      await writeFile(join(dir, 'pid'), String(process.pid));
      return () => rm(dir, { recursive: true, force: true });
    } catch {
      const owner = Number(await readFile(join(dir, 'pid'), 'utf8').catch(() => '0'));
      if (!owner || !alive(owner)) {
        await rm(dir, { recursive: true, force: true }); // left by a build that died
        continue;
      }
      if (waited % 10_000 === 0) progress('waiting for another build to finish', `pid ${owner}`);
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}

/**
 * Keeps the cache from growing without bound: of the directories named
 * `<prefix>*`, the current one and the newest other stay (a sandbox started
 * before this build may still boot from it).
 */
export async function pruneOld(cacheDir: string, prefix: string, keep: string): Promise<void> {
  const old: { path: string; mtime: number }[] = [];
  for (const name of await readdir(cacheDir)) {
    const p = join(cacheDir, name);
    if (name.startsWith(prefix) && p !== keep) old.push({ path: p, mtime: (await stat(p)).mtimeMs });
  }
  old.sort((a, b) => b.mtime - a.mtime);
  for (const { path } of old.slice(1)) await rm(path, { recursive: true, force: true });
}
