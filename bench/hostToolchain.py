"""Host baseline of the languages benchmark (bench/languagesBench.ts): runs each
runtime's hello world with the guest image's own toolchain, chrooted into the
mounted root image on the host, the way the agent runs it in a VM (same argv,
same environment, a fresh source each time so no compiler cache helps), and
prints the timings as one JSON line. Input on stdin: {"runs": N, "cases": [{id,
stages: [{argv, env}], files: [{path, content}], comment}]}.
"""
import json
import os
import shutil
import subprocess
import sys
import time

BASE_ENV = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": "/workspace", "LANG": "C.UTF-8", "TMPDIR": "/tmp", "PYTHONUNBUFFERED": "1", "MPLBACKEND": "Agg"}


def stage_env(stage):
    env = dict(BASE_ENV, **stage["env"])
    if "GOCACHE" in env:  # the image's cache dir is read-only here: a writable copy of its seed
        env["GOCACHE"] = "/tmp/gocache"
    return env


def one(case, i):
    for name in os.listdir("/workspace"):
        p = os.path.join("/workspace", name)
        shutil.rmtree(p) if os.path.isdir(p) else os.unlink(p)
    shutil.rmtree("/tmp/.codecell-build", ignore_errors=True)
    os.makedirs("/tmp/.codecell-build")
    for n, f in enumerate(case["files"]):
        content = f["content"] + (("\n%s run %d\n" % (case["comment"], i)) if n == 0 else "")
        os.makedirs(os.path.dirname(os.path.join("/workspace", f["path"])) or "/workspace", exist_ok=True)
        with open(os.path.join("/workspace", f["path"]), "w") as out:
            out.write(content)
    t0 = time.perf_counter()
    for stage in case["stages"][:-1]:
        env = stage_env(stage)
        r = subprocess.run(stage["argv"], cwd="/workspace", env=env, stdin=subprocess.DEVNULL, capture_output=True)
        if r.returncode != 0:
            raise RuntimeError("%s compile failed: %s" % (case["id"], r.stderr.decode()[-500:]))
    last = case["stages"][-1]
    p = subprocess.Popen(last["argv"], cwd="/workspace", env=stage_env(last), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    first = p.stdout.read(1)
    ttfb = time.perf_counter() - t0
    p.stdout.read()
    p.wait()
    total = time.perf_counter() - t0
    if not first or p.returncode != 0:
        raise RuntimeError("%s run failed (%s)" % (case["id"], p.returncode))
    return ttfb * 1000, total * 1000


def main():
    job = json.load(sys.stdin)
    out = {}
    shutil.copytree("/usr/lib/codecell/seed/go", "/tmp/gocache")
    for case in job["cases"]:
        one(case, -1)  # first touch of the toolchain's files, not measured
        times = [one(case, i) for i in range(job["runs"])]
        out[case["id"]] = {"ttfb": [t for t, _ in times], "exit": [e for _, e in times]}
    print(json.dumps(out))


main()
