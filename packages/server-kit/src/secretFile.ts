/**
 * A shared secret kept in a file only its owner can read: the sandbox writes
 * one (`sandbox.token`) on first start and the gateway reads it, so the two
 * authenticate each other with no configuration. A file that other users could
 * read or replace (loose mode, another owner, a symbolic link) is refused.
 * @module
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { closeSync, constants, fstatSync, linkSync, mkdirSync, openSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

/** Shortest secret accepted, characters. */
export const MIN_SECRET_LENGTH = 16;
/** Longest secret accepted, characters. */
const MAX_SECRET_LENGTH = 4096;

/** Why a secret file cannot be used: it does not exist, other users could read or swap it, or its content is no secret. */
export type SecretFileProblem = 'missing' | 'insecure' | 'invalid';

/** A secret file that cannot be used; the message says how to fix it. */
export class SecretFileError extends Error {
  override readonly name = 'SecretFileError';
  readonly problem: SecretFileProblem;
  readonly path: string;

  constructor(o: { problem: SecretFileProblem; path: string; message: string; cause?: unknown }) {
    super(o.message, { cause: o.cause });
    this.problem = o.problem;
    this.path = o.path;
  }
}

/**
 * Reads a secret from `path`, refusing a file that is a symbolic link, not a
 * regular file, owned by another user, or readable or writable by group or others.
 * @throws SecretFileError
 */
export function readSecretFile(path: string): string {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new SecretFileError({ problem: 'missing', path, message: `${path} does not exist`, cause: err });
    if (code === 'ELOOP') throw new SecretFileError({ problem: 'insecure', path, message: `${path} is a symbolic link; refusing to use it. Delete it (a new one is made) or set the secret in the environment`, cause: err });
    throw new SecretFileError({ problem: 'invalid', path, message: `cannot read ${path}: ${(err as Error).message}`, cause: err });
  }
  try {
    const st = fstatSync(fd);
    const uid = process.getuid?.();
    if (!st.isFile()) throw new SecretFileError({ problem: 'insecure', path, message: `${path} is not a regular file` });
    if (uid !== undefined && st.uid !== uid) {
      throw new SecretFileError({ problem: 'insecure', path, message: `${path} is owned by uid ${st.uid}, not by this user (uid ${uid}); refusing to trust it. Delete it (a new one is made) or set the secret in the environment` });
    }
    if ((st.mode & 0o077) !== 0) {
      const mode = (st.mode & 0o777).toString(8).padStart(4, '0');
      throw new SecretFileError({ problem: 'insecure', path, message: `${path} has mode ${mode}, so other users can read it; run \`chmod 600 ${path}\` (or delete it: a new one is made)` });
    }
    const secret = readFileSync(fd, 'utf8').trim();
    if (secret.length < MIN_SECRET_LENGTH || secret.length > MAX_SECRET_LENGTH || /\s/.test(secret)) {
      throw new SecretFileError({ problem: 'invalid', path, message: `${path} does not hold a secret of ${MIN_SECRET_LENGTH}-${MAX_SECRET_LENGTH} characters without spaces; delete it (a new one is made)` });
    }
    return secret;
  } finally {
    closeSync(fd);
  }
}

/**
 * Reads the secret at `path`, or creates it (32 random bytes, base64url, mode
 * 0600, its directory 0700) when it does not exist. Creation is atomic: a
 * concurrent reader sees the whole file or none, and of two processes
 * creating it at once both end up with the one that was linked first.
 * @throws SecretFileError when the existing file cannot be used
 */
export function ensureSecretFile(path: string): { secret: string; created: boolean } {
  try {
    return { secret: readSecretFile(path), created: false };
  } catch (err) {
    if (!(err instanceof SecretFileError) || err.problem !== 'missing') throw err;
  }
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = `${path}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  const secret = randomBytes(32).toString('base64url');
  writeFileSync(tmp, `${secret}\n`, { mode: 0o600, flag: 'wx' });
  try {
    linkSync(tmp, path);
    return { secret, created: true };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    return { secret: readSecretFile(path), created: false }; // someone else was first
  } finally {
    unlinkSync(tmp);
  }
}

/** Compares two secrets in time that does not depend on where they differ (or on their lengths). */
export function secretsEqual(a: string, b: string): boolean {
  const ha = createHash('sha256').update(a).digest();
  const hb = createHash('sha256').update(b).digest();
  return timingSafeEqual(ha, hb);
}
