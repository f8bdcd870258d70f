"""Files under /proc and /sys, and the per-process cgroups every stage runs in
(guest/SPEC.md 3.3): the one copy of these helpers in the guest."""
import os
import signal
import time

CGROUP_ROOT = "/sys/fs/cgroup"


def write_file(path, data):
    try:
        with open(path, "w") as f:
            f.write(data)
        return True
    except OSError:
        return False


def read_file(path, default=""):
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return default


def setup_cgroups():
    """Delegates memory, pids and cpu to child cgroups (one per stage process)."""
    write_file(CGROUP_ROOT + "/cgroup.subtree_control", "+memory +pids +cpu")


# CPU weight of a cgroup whose process is being prepared (a run's is the default, 100):
# cgroups share the CPU by weight whatever their processes' nice values, so a
# runtime priming in the background must not slow the run in progress.
PREPARE_CPU_WEIGHT = 1
RUN_CPU_WEIGHT = 100


def create_cgroup(name):
    cg = "%s/%s" % (CGROUP_ROOT, name)
    remove_cgroup(cg)
    os.mkdir(cg)
    write_file(cg + "/memory.swap.max", "0")
    write_file(cg + "/memory.oom.group", "1")
    write_file(cg + "/cpu.weight", str(PREPARE_CPU_WEIGHT))
    return cg


def pids_of(cg):
    out = []
    for pid in read_file(cg + "/cgroup.procs").split():
        try:
            out.append(int(pid))
        except ValueError:
            pass
    return out


def signal_cgroup(cg, sig):
    for pid in pids_of(cg):
        try:
            os.kill(pid, sig)
        except OSError:
            pass


def kill_cgroup(cg):
    if not write_file(cg + "/cgroup.kill", "1"):
        signal_cgroup(cg, signal.SIGKILL)


def remove_cgroup(cg):
    for _ in range(50):
        try:
            os.rmdir(cg)
            return
        except FileNotFoundError:
            return
        except OSError:
            kill_cgroup(cg)
            time.sleep(0.002)


def kv(text):
    out = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1].isdigit():
            out[parts[0]] = int(parts[1])
    return out


def stats(cg, rusage):
    """CPU, peak memory and OOM state of a finished stage's cgroup."""
    events = kv(read_file(cg + "/memory.events"))
    cpu = kv(read_file(cg + "/cpu.stat"))
    peak = read_file(cg + "/memory.peak").strip()
    if "usage_usec" in cpu:
        cpu_ms = cpu["usage_usec"] / 1000
    else:
        cpu_ms = (rusage.ru_utime + rusage.ru_stime) * 1000 if rusage else 0
    max_rss_kb = int(peak) // 1024 if peak.isdigit() else (rusage.ru_maxrss if rusage else 0)
    oom = events.get("oom_kill", 0) > 0 or events.get("oom_group_kill", 0) > 0
    return round(cpu_ms, 3), max_rss_kb, oom
