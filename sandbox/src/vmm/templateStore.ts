/**
 * Snapshot templates kept between sandbox processes. Making a template is a
 * cold boot plus loading what every clone shares (numpy and pandas): 25 s
 * under TCG, 2-3 s with KVM, paid by every start of the sandbox, every test
 * file and every restart. A driver that supports it copies a new template's
 * files here under a key naming everything the snapshot depends on (guest
 * image, VMM binary and arguments, VM shape, what was done to the VM before
 * the snapshot), and a later process with the same key copies them into its
 * own run directory instead of booting.
 *
 * Whoever can write this directory can swap the template every VM starts
 * from, so it is held to the run directory's rule: ours alone (mode 0700),
 * checked before every use. Entries are complete or absent (written under a
 * temporary name, renamed into place); the newest {@link KEEP} are kept.
 * @module
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rename, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CodeCellError } from '@codecell/protocol';
import { ensurePrivateDir } from './runDir.js';

const run = promisify(execFile);

/** Entries kept; older ones (by last use) are removed when a new one is saved. */
export const KEEP = 8;
const META = 'meta.json';

interface Meta {
  readonly key: string;
  /** File name → size in bytes, checked when loading. */
  readonly files: Readonly<Record<string, number>>;
}

/** Copies `from` to `to` keeping holes (a template's RAM file is mostly holes). */
async function copySparse(from: string, to: string): Promise<void> {
  await run('cp', ['--sparse=always', '--', from, to]);
}

export class TemplateStore {
  constructor(readonly dir: string) {}

  /**
   * Copies entry `key`'s files into the directory `into`; false when there is
   * no complete entry for `key` (a damaged one is removed).
   */
  async load(key: string, into: string): Promise<boolean> {
    checkKey(key);
    ensurePrivateDir(this.dir);
    const entry = join(this.dir, key);
    let meta: Meta;
    try {
      meta = JSON.parse(await readFile(join(entry, META), 'utf8')) as Meta;
    } catch {
      return false;
    }
    try {
      if (meta.key !== key) throw new Error(`entry says it is ${String(meta.key)}`);
      for (const [name, size] of Object.entries(meta.files)) {
        const st = await stat(join(entry, checkName(name)));
        if (st.size !== size) throw new Error(`${name} is ${st.size} bytes, not ${size}`);
      }
      for (const name of Object.keys(meta.files)) await copySparse(join(entry, name), join(into, name));
    } catch (err) {
      await this.forget(key);
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw new CodeCellError('vm_boot_failed', `kept template ${key} is damaged and was removed: ${String(err)}`, { cause: err });
    }
    const now = new Date();
    await utimes(join(entry, META), now, now).catch(() => undefined); // last use, for pruning
    return true;
  }

  /** Keeps `files` of the directory `from` as entry `key` (replacing nothing: the first one saved wins). */
  async save(key: string, from: string, files: readonly string[]): Promise<void> {
    checkKey(key);
    ensurePrivateDir(this.dir);
    const tmp = await mkdtemp(join(this.dir, `.tmp-${key}-`));
    try {
      const sizes: Record<string, number> = {};
      for (const name of files) {
        await copySparse(join(from, checkName(name)), join(tmp, name));
        sizes[name] = (await stat(join(tmp, name))).size;
      }
      await writeFile(join(tmp, META), JSON.stringify({ key, files: sizes } satisfies Meta));
      await rename(tmp, join(this.dir, key)).catch((err: NodeJS.ErrnoException) => {
        // Another process saved the same key first: theirs is as good.
        if (err.code !== 'ENOTEMPTY' && err.code !== 'EEXIST') throw err;
      });
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
    await this.prune();
  }

  /** Removes entry `key` (a template that turned out bad). */
  async forget(key: string): Promise<void> {
    checkKey(key);
    await rm(join(this.dir, key), { recursive: true, force: true });
  }

  /** Keeps the {@link KEEP} most recently used entries; removes leftovers of saves that died. */
  async prune(): Promise<void> {
    const names = await readdir(this.dir).catch(() => [] as string[]);
    const entries: Array<{ name: string; used: number }> = [];
    for (const name of names) {
      const path = join(this.dir, name);
      const st = await stat(name.startsWith('.tmp-') ? path : join(path, META)).catch(() => undefined);
      if (name.startsWith('.tmp-')) {
        // A save in progress takes seconds; one an hour old died with its process.
        if (!st || Date.now() - st.mtimeMs > 3_600_000) await rm(path, { recursive: true, force: true });
      } else entries.push({ name, used: st?.mtimeMs ?? 0 });
    }
    entries.sort((a, b) => b.used - a.used);
    for (const e of entries.slice(KEEP)) await rm(join(this.dir, e.name), { recursive: true, force: true });
  }
}

function checkKey(key: string): void {
  if (!/^[a-z0-9-]{8,80}$/.test(key)) throw new CodeCellError('internal_error', `bad template key ${key}`);
}

function checkName(name: string): string {
  if (!/^[a-z][a-z0-9.-]{0,40}$/.test(name) || name === META) throw new CodeCellError('internal_error', `bad template file name ${name}`);
  return name;
}
