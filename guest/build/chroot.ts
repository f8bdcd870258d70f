/**
 * Runs the staged tree's own programs at build time, with the tree as their
 * root: precompiling Python, the matplotlib font cache, Go's standard-library
 * build cache, tsc's startup snapshot, and a version check of every runtime.
 * The chroot lives in a private mount namespace (`unshare`), so nothing of the
 * host's own root is touched; as non-root, a user namespace maps us to root.
 * @module
 */
import { run } from './exec.js';

/** The environment build-time programs get: nothing of the host's. */
const CHROOT_ENV = { PATH: '/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin', HOME: '/root', LANG: 'C.UTF-8' };

export interface ChrootOptions {
  readonly root: string;
  /** Extra environment of the command. */
  readonly env?: Readonly<Record<string, string>>;
  readonly signal?: AbortSignal;
}

/** Runs `argv` inside `root` with /dev and a fresh /proc; resolves with its stdout. */
export async function inChroot(o: ChrootOptions, argv: readonly string[]): Promise<string> {
  const env = Object.entries({ ...CHROOT_ENV, ...o.env }).map(([k, v]) => `${k}=${v}`);
  // /dev is bound read-only-in-effect (nothing writes device nodes); the mounts vanish with the namespace.
  const script = 'set -e; r="$1"; shift; mount --rbind /dev "$r/dev"; mount -t proc proc "$r/proc"; exec chroot "$r" /usr/bin/env -i "$@"';
  const userns = process.getuid?.() === 0 ? [] : ['--map-root-user'];
  const out = await run('unshare', [...userns, '--mount', '--pid', '--fork', '--propagation', 'private', 'sh', '-c', script, 'sh', o.root, ...env, ...argv], {
    signal: o.signal,
    env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin' },
  });
  return out.toString('utf8');
}
