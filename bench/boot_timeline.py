#!/usr/bin/env python3
"""Where the servers of the last ``bench/boot.py`` run waited: per-step times from the DB.

Reads the devstack cloud's SQLite file (read-only) after a run: the servers named
``bench-boot-<pid>-<time>-<i>`` of the newest run (deleted ones too), and for each
the timestamps the boot leaves behind:

* ``created``: the API's create (``instances.created_at``);
* ``task_start``: the conductor's build task starts (its pool took it), the start
  of the ``conductor_schedule_and_build_instances`` event;
* ``scheduled``: the scheduler answered (``instances.scheduled_at``);
* ``task_end``: the move to ``spawning`` is written, the finish of that event;
* ``take``: kumo-compute's build take (start of ``compute_build_and_run_instance``);
* ``launched``: the guest runs, kumo-compute's clock (``instances.launched_at``);
* ``active``: the ACTIVE write, the finish of kumo-compute's event.

Prints p50/p95/max of each step, the median and p95 server's timeline, and the
steps' means per second of the burst. Wall clock: noisy on a shared machine.
"""

from __future__ import annotations

import argparse
import datetime
import sqlite3
from typing import Any

STEPS = ("created", "task_start", "scheduled", "task_end", "take", "launched", "active")
_EVENTS = {"conductor_schedule_and_build_instances": ("task_start", "task_end"),
           "compute_build_and_run_instance": ("take", "active")}


def _time(text: str | None) -> float | None:
    return datetime.datetime.fromisoformat(text).timestamp() if text else None


def _servers(db: sqlite3.Connection) -> tuple[str, list[dict[str, Any]]]:
    newest = db.execute("SELECT display_name FROM instances WHERE display_name LIKE "
                        "'bench-boot-%' ORDER BY id DESC LIMIT 1").fetchone()
    if newest is None:
        raise SystemExit("no bench/boot.py servers in this database")
    pattern = newest[0].rsplit("-", 1)[0] + "-%"
    servers = {uuid: {"created": _time(created), "scheduled": _time(scheduled),
                      "launched": _time(launched)}
               for uuid, created, scheduled, launched in db.execute(
                   "SELECT uuid, created_at, scheduled_at, launched_at FROM instances "
                   "WHERE display_name LIKE ?", (pattern,))}
    for uuid, event, start, finish in db.execute(
            "SELECT a.instance_uuid, e.event, e.start_time, e.finish_time "
            "FROM instance_actions_events e JOIN instance_actions a ON a.id = e.action_id "
            "JOIN instances i ON i.uuid = a.instance_uuid WHERE i.display_name LIKE ?",
            (pattern,)):
        if event in _EVENTS and uuid in servers:
            begin, end = _EVENTS[event]
            servers[uuid][begin], servers[uuid][end] = _time(start), _time(finish)
    complete = [s for s in servers.values() if all(s.get(step) for step in STEPS)]
    return pattern[:-2], sorted(complete, key=lambda s: s["active"] - s["created"])


def _at(values: list[float], fraction: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(fraction * len(values)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("database", help="the cloud's SQLite file (KUMO_DATA_DIR/kumo.sqlite)")
    args = parser.parse_args()
    db = sqlite3.connect(f"file:{args.database}?mode=ro", uri=True)
    run, servers = _servers(db)
    if not servers:
        raise SystemExit(f"{run}: no server of this run reached ACTIVE")
    print(f"{run}: {len(servers)} servers ACTIVE")
    pairs = list(zip(STEPS, STEPS[1:], strict=False)) + [("created", "active")]
    for begin, end in pairs:
        spans = [(s[end] - s[begin]) * 1000 for s in servers]
        print(f"{begin + '->' + end:24s} p50 {_at(spans, .5):6.0f}  p95 {_at(spans, .95):6.0f}"
              f"  max {max(spans):6.0f} ms")
    first = min(s["created"] for s in servers)
    for label, server in (("median", servers[len(servers) // 2]),
                          ("p95", servers[int(len(servers) * .95)])):
        steps = " ".join(f"{end}+{(server[end] - server[begin]) * 1000:.0f}"
                         for begin, end in pairs[:-1])
        print(f"{label} server (created +{server['created'] - first:.2f} s): {steps} ms")
    print("per second of the burst (by created): servers, mean ms of each step")
    by_second: dict[int, list[dict[str, Any]]] = {}
    for server in servers:
        by_second.setdefault(int(server["created"] - first), []).append(server)
    for second, group in sorted(by_second.items()):
        means = " ".join(f"{sum(s[e] - s[b] for s in group) / len(group) * 1000:5.0f}"
                         for b, e in pairs)
        print(f"+{second:2d} s n={len(group):3d} {means}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
