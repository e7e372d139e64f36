#!/usr/bin/env python3
"""Resident memory (RSS) of every kumo daemon: idle, and optionally after bench/boot.py.

Finds the daemons through /proc by their console-script names (``kumo-api``,
``kumo-conductor``, ...: the basename of argv[0] or argv[1] of a python
process). With several processes of one name (another cloud on the machine),
``--config`` keeps those started with that config file (default: any); each
daemon's figure is the sum over its process and its children (forked workers).

    python bench/memory.py                                  # idle
    python bench/memory.py --config data/kumo.conf --after-boot   # idle, boot.py, again

Prints one JSON line: per daemon RSS in MB (its processes summed: main and
forked workers), per daemon PSS (shared pages split, the honest total of a
daemon with workers), the RSS of each process of a daemon with workers, the
largest daemon and the largest single process, and the totals.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import common  # noqa: E402

DAEMONS = ("kumo-api", "kumo-api-metadata", "kumo-conductor", "kumo-scheduler",
           "kumo-compute", "kumo-network", "kumo-cert", "kumo-consoleauth",
           "kumo-novncproxy", "kumo-spicehtml5proxy", "kumo-xvpvncproxy")


def _cmdline(pid: str) -> list[str]:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return [a.decode(errors="replace") for a in f.read().split(b"\0") if a]
    except OSError:
        return []


def _status(pid: str) -> dict[str, str]:
    out = {}
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                key, _, value = line.partition(":")
                out[key] = value.strip()
    except OSError:
        pass
    return out


def _rss_kb(status: dict[str, str]) -> int:
    return int(status.get("VmRSS", "0 kB").split()[0])


def find_daemons(config: str | None) -> dict[str, list[int]]:
    """{daemon name: [pids of its top processes]}."""
    procs: dict[int, tuple[str, int]] = {}  # pid -> (name, ppid)
    for pid in filter(str.isdigit, os.listdir("/proc")):
        argv = _cmdline(pid)
        if not argv:
            continue
        name = None
        for arg in argv[:2]:
            base = os.path.basename(arg)
            if base in DAEMONS:
                name = base
                break
        if name is None:
            continue
        if config and not any(os.path.realpath(a) == os.path.realpath(config)
                              for a in argv if not a.startswith("-")):
            continue
        procs[int(pid)] = (name, int(_status(pid).get("PPid", "0")))
    found: dict[str, list[int]] = {}
    for pid, (name, ppid) in procs.items():
        if ppid in procs and procs[ppid][0] == name:
            continue  # a forked worker: counted with its parent
        found.setdefault(name, []).append(pid)
    return found


def _children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            kids = [int(k) for k in f.read().split()]
    except OSError:
        return []
    out = list(kids)
    for kid in kids:
        out.extend(_children(kid))
    return out


def _pss_kb(pid: int) -> int:
    """Proportional set size: shared pages split between the processes sharing them."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def _mb(kb: int) -> float:
    return round(kb / 1024.0, 1)


def snapshot(config: str | None) -> dict[str, dict]:
    """{daemon: {"rss_mb": sum of RSS, "pss_mb": sum of PSS, "processes": [...]}}.

    A daemon forked into workers ([conductor] workers, [DEFAULT]
    osapi_compute_workers) is its parent plus the workers. Their RSS counts
    the pages they share since the fork (the parent's imports) once per
    process, so the RSS sum overstates the daemon; the PSS sum splits shared
    pages between their sharers and is what the daemon really costs. The
    per-process RSS is what the "<= 80 MB per process" target is about.
    """
    out: dict[str, dict] = {}
    for name, pids in sorted(find_daemons(config).items()):
        rss = pss = 0
        processes = []
        for pid in pids:
            for p in [pid, *_children(pid)]:
                p_rss, p_pss = _rss_kb(_status(str(p))), _pss_kb(p)
                rss += p_rss
                pss += p_pss
                processes.append({"pid": p, "role": "main" if p == pid else "worker",
                                  "rss_mb": _mb(p_rss), "pss_mb": _mb(p_pss)})
        out[name] = {"rss_mb": _mb(rss), "pss_mb": _mb(pss), "processes": processes}
    return out


def summary(snap: dict[str, dict]) -> dict:
    if not snap:
        return {"daemons": {}, "max_mb": None, "total_mb": None}
    rss = {name: fig["rss_mb"] for name, fig in snap.items()}
    worst = max(rss, key=rss.get)
    procs = [(proc["rss_mb"], name, proc["pid"])
             for name, fig in snap.items() for proc in fig["processes"]]
    top = max(procs)
    return {"daemons": rss,
            "daemons_pss": {name: fig["pss_mb"] for name, fig in snap.items()},
            "processes": {name: [[p["role"], p["rss_mb"]] for p in fig["processes"]]
                          for name, fig in snap.items() if len(fig["processes"]) > 1},
            "max_mb": rss[worst], "max_daemon": worst,
            "max_process_mb": top[0], "max_process": f"{top[1]} (pid {top[2]})",
            "total_mb": round(sum(rss.values()), 1),
            "total_pss_mb": round(sum(fig["pss_mb"] for fig in snap.values()), 1)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    common.api_args(parser)
    parser.add_argument("--config", default=None,
                        help="only daemons started with this --config-file (default: any)")
    parser.add_argument("--after-boot", action="store_true",
                        help="then run bench/boot.py and measure again")
    parser.add_argument("--boot-args", default="",
                        help="extra arguments for boot.py (e.g. '-n 200 -c 10')")
    parser.add_argument("--settle", type=float, default=2.0,
                        help="seconds to wait after the boot bench before measuring (2)")
    args = parser.parse_args()

    idle = snapshot(args.config)
    if not idle:
        common.log("no kumo daemon found")
    result: dict = {"bench": "memory", "idle": summary(idle)}
    if args.after_boot:
        cmd = [sys.executable, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                            "boot.py"),
               "--endpoint", args.endpoint, "--token", args.token, *args.boot_args.split()]
        common.log("running " + " ".join(cmd))
        boot = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, check=False)
        time.sleep(args.settle)
        result["after_boot"] = summary(snapshot(args.config))
        result["boot_rc"] = boot.returncode
    common.emit(result)
    return 0


if __name__ == "__main__":
    common.run_main("memory", main)
