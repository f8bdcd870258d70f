"""Runtimes started ahead of a request (guest/SPEC.md 3.6).

A stage whose exec entry says `warm: {kind, prefix}` may run in a process of
that runtime that was started earlier with the stage's first `prefix` argv
items (the runtime and its options) and a CodeCell launcher (in the image's
/usr/lib/codecell), and that now waits for the rest of the argv on fd 3. After
a run that used such a stage, the agent starts the next one with the same key
in the background, so the session's next run pays only for its own code. Each
process serves one stage and exits with it: state never carries over.
"""

LIB = "/usr/lib/codecell"
# At most this many runtimes wait at once (each holds tens of MiB).
MAX_WARM = 3


def prime_of(kind, rest):
    """What a launcher loads while it waits: javac's classes or a program's (JVM), our tsc (node)."""
    if kind == "java":
        return "javac" if rest[:2] == ["-m", "jdk.compiler/com.sun.tools.javac.Main"] else "run"
    if kind == "node" and rest and rest[0].startswith(LIB + "/"):
        return rest[0]
    return None


def launcher_argv(kind, prefix, prime=None):
    """The argv a warm process of `kind` starts with."""
    if kind == "node":
        return prefix + [LIB + "/node-warm.js"] + (["--prime", prime] if prime else [])
    if kind == "ruby":
        return prefix + [LIB + "/ruby-warm.rb"]
    if kind == "java":
        return prefix + ["-cp", LIB + "/java", "CodecellLauncher", "--prime", prime or "run"]
    raise ValueError("no warm launcher for %r" % kind)


def warm_key(stage, limits):
    """Identifies the process a stage could use: same runtime, options, environment and rlimits."""
    warm = stage.get("warm")
    if not warm or warm["kind"] == "python":
        return None
    prefix = stage["argv"][: warm["prefix"]]
    rest = stage["argv"][warm["prefix"]:]
    rl = tuple(sorted((k, limits[k]) for k in ("pids", "fileSizeBytes", "openFiles")))
    return (warm["kind"], tuple(prefix), tuple(sorted(stage["env"].items())), rl, prime_of(warm["kind"], rest))


class WarmPool:
    """The waiting warm processes, by key; `create(key, memory_bytes)` starts one, `discard(p)` ends one."""

    def __init__(self, create, discard):
        self.create = create
        self.discard = discard
        self.ready = {}  # key -> Prefork, oldest first

    def take(self, key):
        return self.ready.pop(key, None) if key is not None else None

    def prepare(self, key, memory_bytes):
        if key is None or key in self.ready:
            return
        while len(self.ready) >= MAX_WARM:
            oldest = next(iter(self.ready))
            self.discard(self.ready.pop(oldest))
        self.ready[key] = self.create(key, memory_bytes)

    def forget_pid(self, pid):
        """A waiting process died on its own (e.g. killed by memory pressure): drop it."""
        for key, pre in list(self.ready.items()):
            if pre.pid == pid:
                del self.ready[key]
                self.discard(pre)
                return True
        return False
