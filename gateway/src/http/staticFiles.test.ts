import { describe, expect, it } from 'vitest';
import { resolveInside } from './staticFiles.js';

describe('resolveInside', () => {
  const base = '/srv/dist';
  it.each([
    ['/', '/srv/dist'],
    ['/index.html', '/srv/dist/index.html'],
    ['/assets/a%20b.js', '/srv/dist/assets/a b.js'],
    ['/a/../b.js', '/srv/dist/b.js'],
  ])('%s → %s', (url, file) => expect(resolveInside(base, url)).toBe(file));

  it.each(['/../etc/passwd', '/%2e%2e/etc/passwd', '/assets/..%2f..%2fetc/passwd', '/..', '/a%00b', '/a%5c..%5c..%5cx', '/%E0%A4%A'])('refuses %s', (url) => {
    expect(resolveInside(base, url)).toBeNull();
  });

  it('does not confuse a sibling directory with the same prefix', () => {
    expect(resolveInside(base, '/../dist-secret/x')).toBeNull();
  });
});
