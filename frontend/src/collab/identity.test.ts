import { describe, expect, it } from 'vitest';
import { CSS_COLOR } from '@codecell/protocol';
import { cleanName, IDENTITY_KEY, loadIdentity, randomIdentity, saveIdentity, USER_COLORS } from './identity';

function memoryStore() {
  const data = new Map<string, string>();
  return { data, getItem: (k: string) => data.get(k) ?? null, setItem: (k: string, v: string) => void data.set(k, v) };
}

describe('identity', () => {
  it('palette colours pass the awareness colour check', () => {
    for (const c of USER_COLORS) expect(c).toMatch(CSS_COLOR);
  });
  it('makes a random name and colour and remembers them', () => {
    const store = memoryStore();
    const a = loadIdentity(store, () => 0.99);
    expect(a.name).toMatch(/^\w+ \w+$/);
    expect(USER_COLORS).toContain(a.color);
    expect(loadIdentity(store, () => 0)).toEqual(a);
  });
  it('keeps an edited name', () => {
    const store = memoryStore();
    saveIdentity(store, { name: 'Ada', color: '#30a46c' });
    expect(loadIdentity(store)).toEqual({ name: 'Ada', color: '#30a46c' });
  });
  it('replaces a stored identity with an unsafe colour or no name', () => {
    const store = memoryStore();
    store.setItem(IDENTITY_KEY, JSON.stringify({ name: 'Eve', color: 'red;}body{x:y' }));
    expect(loadIdentity(store, () => 0).color).toBe(USER_COLORS[0]);
    store.setItem(IDENTITY_KEY, '{not json');
    expect(loadIdentity(store, () => 0).name).toBe(randomIdentity(() => 0).name);
  });
  it('works without storage', () => {
    expect(loadIdentity(null, () => 0.5).name.length).toBeGreaterThan(0);
  });
  it('cleans typed names', () => {
    expect(cleanName('  Ada\n ')).toBe('Ada');
    expect(cleanName('   ')).toBeNull();
    expect(cleanName('x'.repeat(100))).toHaveLength(64);
  });
});
