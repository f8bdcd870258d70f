/**
 * The guest's package sets: what each runtime of the protocol's runtime table
 * needs from Debian 12, which package names its version, and the few things a
 * package's maintainer scripts would have done that the build does instead.
 *
 * "Pinned" here means: the package *names* and upstream series (python3.11,
 * golang-1.19-go, openjdk-17, gcc-12…) are fixed in git, and apt resolves them
 * with their dependencies against Debian 12's current point release at build
 * time. The exact versions resolved are recorded in the image's manifest. Exact
 * versions are deliberately not committed: Debian's mirrors drop superseded
 * versions, so a committed exact pin would break a fresh clone at the next point
 * release (or security update).
 * @module
 */
import type { RuntimeId } from '@codecell/protocol';

/** The guest's own packages: busybox for the shell tools, Python 3.11 for the agent (and `py`), terminfo (ncurses-base) for programs on a terminal. */
export const BASE_PACKAGES = ['busybox-static', 'python3.11-minimal', 'libpython3.11-stdlib', 'media-types', 'tzdata', 'ncurses-base'] as const;

/** One runtime's packages and the package whose upstream version is the runtime's version. */
export interface RuntimePackages {
  readonly packages: readonly string[];
  readonly versionOf: string;
}

export const RUNTIME_PACKAGES: Readonly<Record<RuntimeId, RuntimePackages>> = {
  py: {
    packages: ['python3.11', 'python3-numpy', 'python3-pandas', 'python3-matplotlib', 'python3-scipy', 'python3-sympy'],
    versionOf: 'python3.11',
  },
  js: { packages: ['nodejs'], versionOf: 'nodejs' },
  ts: { packages: ['node-typescript', 'nodejs'], versionOf: 'node-typescript' },
  go: { packages: ['golang-1.19-go', 'gcc'], versionOf: 'golang-1.19-go' },
  c: { packages: ['gcc', 'libc6-dev'], versionOf: 'gcc-12' },
  cpp: { packages: ['g++', 'libc6-dev'], versionOf: 'g++-12' },
  rs: { packages: ['rustc', 'gcc'], versionOf: 'rustc' },
  java: { packages: ['openjdk-17-jdk-headless'], versionOf: 'openjdk-17-jdk-headless' },
  rb: { packages: ['ruby'], versionOf: 'ruby3.1' },
  sh: { packages: ['bash'], versionOf: 'bash' },
};

/**
 * Packages apt would pull in that the guest never uses at run time, each with
 * why. The resolver marks them as already installed, so neither they nor
 * whatever only they depend on are taken.
 */
export const DROPPED_PACKAGES: readonly { readonly name: string; readonly why: string }[] = [
  { name: 'python3-pythran', why: "scipy's ahead-of-time compiler: used when scipy is built, never at import; it alone pulls in Boost, OpenBLAS headers and python3-dev (~330 MB)" },
];

/**
 * Links Debian's maintainer scripts make with update-alternatives (no script
 * runs in this build): [link, target], relative to the root.
 */
export const ALTERNATIVES: readonly (readonly [string, string])[] = [
  ['usr/lib/x86_64-linux-gnu/libblas.so.3', 'blas/libblas.so.3'],
  ['usr/lib/x86_64-linux-gnu/liblapack.so.3', 'lapack/liblapack.so.3'],
  ['usr/bin/cc', 'gcc'],
  ['usr/bin/c++', 'g++'],
  ['usr/bin/java', '../lib/jvm/java-17-openjdk-amd64/bin/java'],
  ['usr/bin/javac', '../lib/jvm/java-17-openjdk-amd64/bin/javac'],
  ['usr/bin/go', '../lib/go-1.19/bin/go'],
  ['usr/bin/gofmt', '../lib/go-1.19/bin/gofmt'],
];

/** Every package name the image asks apt for, sorted and without duplicates. */
export function rootPackages(): string[] {
  const all = new Set<string>(BASE_PACKAGES);
  for (const r of Object.values(RUNTIME_PACKAGES)) for (const p of r.packages) all.add(p);
  return [...all].sort();
}

/**
 * Debian version → upstream version: drops the epoch and the Debian revision,
 * follows `+really` (Debian's way of shipping an older upstream under a higher
 * version), and keeps the leading dotted number.
 *
 * @example
 * upstreamVersion('3.1.7+really3.1.2-0+deb12u1') // '3.1.2'
 * upstreamVersion('1:1.24.2-1+deb12u1')           // '1.24.2'
 */
export function upstreamVersion(debVersion: string): string {
  let v = debVersion.replace(/^\d+:/, '');
  const dash = v.lastIndexOf('-');
  if (dash > 0) v = v.slice(0, dash);
  const really = v.lastIndexOf('+really');
  if (really >= 0) v = v.slice(really + '+really'.length);
  return /^\d+(?:\.\d+)*/.exec(v)?.[0] ?? v;
}
