/**
 * Who you are in a room: a display name (editable) and a colour (random from
 * {@link USER_COLORS}), both remembered in localStorage.
 * @module
 */
import { CSS_COLOR } from '@codecell/protocol';

/** Name and colour published in awareness (`user`). */
export interface UserIdentity {
  readonly name: string;
  readonly color: string;
}

/** Colours with enough contrast for white label text on light and dark editors. */
export const USER_COLORS: readonly string[] = [
  '#e5484d',
  '#f76808',
  '#30a46c',
  '#0091ff',
  '#8e4ec6',
  '#d6409f',
  '#12a594',
  '#ad7f58',
  '#3e63dd',
  '#c2410c',
];

/** Longest display name (the awareness schema's limit). */
export const MAX_NAME_LENGTH = 64;

const ADJECTIVES = ['Swift', 'Quiet', 'Brave', 'Clever', 'Lucky', 'Sunny', 'Witty', 'Calm', 'Bold', 'Keen'];
const ANIMALS = ['Otter', 'Falcon', 'Panda', 'Lynx', 'Koala', 'Heron', 'Badger', 'Fox', 'Dolphin', 'Owl'];

/** localStorage key of the remembered identity. */
export const IDENTITY_KEY = 'codecell.identity';

/** Minimal Storage (localStorage, or a Map in tests). */
export interface KeyValueStore {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
}

const pick = <T>(xs: readonly T[], random: () => number): T => xs[Math.floor(random() * xs.length) % xs.length] as T;

/** A fresh random identity ("Swift Otter", a palette colour). */
export function randomIdentity(random: () => number = Math.random): UserIdentity {
  return { name: `${pick(ADJECTIVES, random)} ${pick(ANIMALS, random)}`, color: pick(USER_COLORS, random) };
}

/** Trims and caps a typed name; null when nothing is left. */
export function cleanName(raw: string): string | null {
  // Control characters would only show as boxes on cursor labels.
  const name = raw.replace(/[\u0000-\u001f\u007f]/g, '').trim().slice(0, MAX_NAME_LENGTH).trim();
  return name === '' ? null : name;
}

/** The remembered identity, or a new random one (saved) when there is none or it is invalid. */
export function loadIdentity(store: KeyValueStore | null, random: () => number = Math.random): UserIdentity {
  try {
    const raw = store?.getItem(IDENTITY_KEY);
    if (raw) {
      const parsed = JSON.parse(raw) as { name?: unknown; color?: unknown };
      const name = typeof parsed.name === 'string' ? cleanName(parsed.name) : null;
      const color = typeof parsed.color === 'string' && CSS_COLOR.test(parsed.color) ? parsed.color : null;
      if (name !== null && color !== null) return { name, color };
    }
  } catch {
    // Unreadable: start over.
  }
  const fresh = randomIdentity(random);
  saveIdentity(store, fresh);
  return fresh;
}

/** Remembers the identity; storage errors are ignored (it still applies to this page). */
export function saveIdentity(store: KeyValueStore | null, identity: UserIdentity): void {
  try {
    store?.setItem(IDENTITY_KEY, JSON.stringify(identity));
  } catch {
    // Quota or disabled storage.
  }
}
