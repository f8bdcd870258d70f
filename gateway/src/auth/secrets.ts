/**
 * Random tokens and how they are kept: sessions, API tokens and invites are
 * 256-bit random strings stored as SHA-256 hashes, so the database alone lets
 * nobody sign in. (Hashing suffices because the tokens are random, unlike
 * passwords; see passwords.ts.)
 * @module
 */
import { createHash, randomBytes } from 'node:crypto';
import { randomId } from '@codecell/server-kit';

/** A new random token: `prefix` + 43 base64url characters (256 bits). */
export function newToken(prefix = ''): string {
  return `${prefix}${randomBytes(32).toString('base64url')}`;
}

/** A short random id for rows (96 bits; not a secret, so from server-kit's pool). */
export function newId(): string {
  return randomId(12);
}

/** What the store keeps of a token. */
export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('base64url');
}

/** Prefix of API tokens, so leaked ones are easy to recognise (secret scanners). */
export const API_TOKEN_PREFIX = 'cct_';
