/**
 * The host run directory holds every VM's agent and QMP sockets and the
 * snapshot template's RAM: whoever can write it can impersonate a guest agent
 * or swap the template. It is created fresh for each sandbox process (mkdtemp,
 * mode 0700), and a directory that is not ours alone is refused.
 * @module
 */
import { lstatSync, mkdirSync, mkdtempSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { CodeCellError } from '@codecell/protocol';

/** Name prefix of run directories: `codecell-<pid>-XXXXXX` (the reaper parses the pid). */
export const RUN_DIR_PREFIX = 'codecell-';

/** Creates this process's run directory under `base`, fresh: `codecell-<pid>-XXXXXX`, mode 0700. */
export function createRunDir(base: string): string {
  mkdirSync(base, { recursive: true });
  return mkdtempSync(join(base, `${RUN_DIR_PREFIX}${process.pid}-`));
}

/**
 * Makes sure `dir` exists and is ours alone: created 0700 when missing (its
 * parents as needed), else it must be a real directory (no symbolic link)
 * owned by this user that nobody else may read or write.
 * @throws CodeCellError `sandbox_unavailable` naming what is wrong
 */
export function ensurePrivateDir(dir: string): void {
  mkdirSync(dirname(dir), { recursive: true });
  try {
    mkdirSync(dir, { mode: 0o700 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  const refuse = (why: string): never => {
    throw new CodeCellError('sandbox_unavailable', `the run directory ${dir} ${why}; refusing to keep VM sockets there. Remove it, or point SANDBOX_RUN_DIR elsewhere`);
  };
  const st = lstatSync(dir);
  if (st.isSymbolicLink()) refuse('is a symbolic link');
  if (!st.isDirectory()) refuse('is not a directory');
  const uid = process.getuid?.();
  if (uid !== undefined && st.uid !== uid) refuse(`is owned by uid ${st.uid}, not by this user (uid ${uid})`);
  if ((st.mode & 0o077) !== 0) refuse(`has mode ${(st.mode & 0o777).toString(8).padStart(4, '0')}, so other users can reach it`);
}
