/**
 * The pure parts of the image build's package handling: reading apt's
 * simulated install (guest/SPEC.md 5.2) and turning Debian versions into the
 * upstream versions `GET /runtimes` shows.
 */
import { describe, expect, it } from 'vitest';
import { upstreamVersion } from './packages.js';
import { parseSimulation } from './resolve.js';

describe('parseSimulation (SPEC 5.2)', () => {
  it('reads every Inst line, with or without an installed version, sorted by name', () => {
    const out = [
      'NOTE: This is only a simulation!',
      'Inst nodejs (18.20.4+dfsg-1~deb12u3 Debian-Security:12/oldstable-security [amd64])',
      'Inst bash [5.2.15-2+b8] (5.2.15-2+b13 Debian:12.15/oldstable [amd64])',
      'Inst tzdata (2025b-0+deb12u1 Debian:12.15/oldstable [all])',
      'Conf bash (5.2.15-2+b13 Debian:12.15/oldstable [amd64])',
    ].join('\n');
    expect(parseSimulation(out)).toEqual([
      { name: 'bash', version: '5.2.15-2+b13', arch: 'amd64' },
      { name: 'nodejs', version: '18.20.4+dfsg-1~deb12u3', arch: 'amd64' },
      { name: 'tzdata', version: '2025b-0+deb12u1', arch: 'all' },
    ]);
  });

  it('finds nothing in output without Inst lines', () => {
    expect(parseSimulation('0 upgraded, 0 newly installed, 0 to remove and 0 not upgraded.\n')).toEqual([]);
  });
});

describe('upstreamVersion (SPEC 5.2)', () => {
  it.each([
    ['3.11.2-6+deb12u9', '3.11.2'],
    ['1:1.24.2-1+deb12u1', '1.24.2'],
    ['18.20.4+dfsg-1~deb12u3', '18.20.4'],
    ['3.1.7+really3.1.2-0+deb12u1', '3.1.2'],
    ['12.2.0-14+deb12u1', '12.2.0'],
    ['1.63.0+dfsg1-2', '1.63.0'],
    ['17.0.16+8-1~deb12u1', '17.0.16'],
  ])('%s is %s', (deb, upstream) => {
    expect(upstreamVersion(deb)).toBe(upstream);
  });
});
