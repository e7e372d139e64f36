#!/usr/bin/env python3
"""Boot throughput: N servers from C concurrent clients, wait for ACTIVE, then delete them.

Against a running cloud over plain REST (stdlib only). Each server's
time-to-ACTIVE runs from the start of its POST to the first poll of
``GET /servers/detail?status=BUILD`` it no longer appears in (so it includes
up to one poll interval plus one list request of slack; a last full list
checks that those are ACTIVE, the others count as failed); ``--poll-all``
polls every server of the run instead, a costlier observer that competes
with the boots for the cloud's CPU. Time-to-gone likewise from the start of
its DELETE to the first poll it no longer appears in. Prints one JSON line.

    python bench/boot.py                     # N=200, C=10
    python bench/boot.py -n 20 -c 4 --nodes 20
"""

from __future__ import annotations

import argparse
import itertools
import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import common  # noqa: E402


class CpuMeter(common.CpuMeter):
    """:class:`common.CpuMeter` with boot.py's figure: ms of CPU per server of each
    daemon that used any, plus the total."""

    @staticmethod
    def per_server(before: dict[str, float], after: dict[str, float],
                   servers: int) -> dict[str, float]:
        out = common.CpuMeter.per_operation(before, after, servers)
        if servers:
            out["total"] = round(sum(out.values()), 1)
        return out


def poll_until(client: common.Client, prefix: str, started: dict[str, float],
               done: dict[str, float], predicate, poll: float, timeout: float,
               stop_posting: threading.Event, status: str | None = None) -> dict[str, str]:
    """Poll the server list until ``predicate`` holds for every uuid in ``started``.

    ``predicate(server_or_None)`` -> (finished, failed). Fills ``done`` with the
    time each finished; returns {uuid: status} of those that failed. With
    ``status`` only the servers in that status are listed (a server gone from
    the list is None to ``predicate``).
    """
    failed: dict[str, str] = {}
    deadline = time.monotonic() + timeout
    while True:
        now_before = time.monotonic()
        # Only the servers whose POST had returned before this list began: one whose
        # row was created after the list was read would be absent from it, and with
        # ``status`` taken for finished while still in BUILD.
        posted_before = list(started)
        filters = {"name": f"^{prefix}"}
        if status:
            filters["status"] = status
        servers = {s["id"]: s for s in client.list_servers(**filters)}
        seen_at = time.monotonic()
        for uuid in posted_before:
            if uuid in done or uuid in failed:
                continue
            finished, bad = predicate(servers.get(uuid))
            if bad:
                failed[uuid] = servers[uuid]["status"] if uuid in servers else "?"
            elif finished:
                # Seen finished by a list that started at now_before: take the
                # midpoint of the request as the observation time.
                done[uuid] = (now_before + seen_at) / 2
        if stop_posting.is_set() and len(done) + len(failed) >= len(started):
            return failed
        if seen_at > deadline:
            for uuid in started:
                if uuid not in done and uuid not in failed:
                    failed[uuid] = "TIMEOUT"
            return failed
        time.sleep(max(0.0, poll - (time.monotonic() - now_before)))


def phase(client: common.Client, count: int, concurrency: int, act, predicate,
          prefix: str, poll: float, timeout: float, status: str | None = None,
          check=None) -> tuple[dict, dict[str, float]]:
    """Run ``act(i) -> uuid`` count times from ``concurrency`` threads while polling
    (only the servers in ``status``, when given). ``check(done) -> {uuid: status}``
    then names the finished ones that failed after all."""
    started: dict[str, float] = {}
    done: dict[str, float] = {}
    request_s: list[float] = []
    counter = itertools.count()
    lock = threading.Lock()
    posted = threading.Event()

    def worker(_: int) -> None:
        while True:
            i = next(counter)
            if i >= count:
                return
            t0 = time.monotonic()
            uuid = act(i)
            t1 = time.monotonic()
            with lock:
                started[uuid] = t0
                request_s.append(t1 - t0)

    t_start = time.monotonic()
    result: dict = {}

    def posting() -> None:
        try:
            common.run_threads(concurrency, worker)
        except BaseException as exc:  # noqa: BLE001 - reported by the caller
            result["error"] = repr(exc)
        finally:
            result["requests_wall_s"] = time.monotonic() - t_start
            posted.set()

    poster = threading.Thread(target=posting, daemon=True)
    poster.start()
    failed = poll_until(client, prefix, started, done, predicate, poll, timeout, posted,
                        status=status)
    poster.join()
    if check is not None:
        for uuid, bad in check(done).items():
            done.pop(uuid, None)
            failed[uuid] = bad
    if "error" in result:
        raise RuntimeError(result["error"])
    t_end = max(done.values()) if done else time.monotonic()
    wall = t_end - t_start
    latencies = [done[u] - started[u] for u in done]
    out = {
        "wall_s": common.rnd(wall),
        "servers_per_s": common.rnd(len(done) / wall if wall > 0 else None, 2),
        "p50_s": common.rnd(common.percentile(latencies, 50)),
        "p95_s": common.rnd(common.percentile(latencies, 95)),
        "max_s": common.rnd(max(latencies) if latencies else None),
        "request_p50_ms": common.ms(common.percentile(request_s, 50)),
        "request_p95_ms": common.ms(common.percentile(request_s, 95)),
        "requests_wall_s": common.rnd(result["requests_wall_s"]),
        "ok": len(done),
        "failed": len(failed),
    }
    if failed:
        statuses: dict[str, int] = {}
        for status in failed.values():
            statuses[status] = statuses.get(status, 0) + 1
        out["failed_statuses"] = statuses
    return out, done


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    common.api_args(parser)
    parser.add_argument("-n", "--servers", type=int, default=200, help="servers to boot (200)")
    parser.add_argument("-c", "--concurrency", type=int, default=10,
                        help="concurrent clients (10)")
    parser.add_argument("--nodes", type=int, default=None,
                        help="fake nodes the cloud serves: only a label in the output "
                             "(start the cloud with KUMO_FAKE_NODES=20 devstack/stack.sh)")
    parser.add_argument("--flavor", default="m1.tiny")
    parser.add_argument("--image", default=None, help="image name or id (default: the first)")
    parser.add_argument("--poll", type=float, default=0.25,
                        help="seconds between polls of GET /servers/detail (0.25)")
    parser.add_argument("--timeout", type=float, default=600.0,
                        help="seconds to wait for each phase (600)")
    parser.add_argument("--no-delete", action="store_true", help="leave the servers behind")
    parser.add_argument("--config", default=None,
                        help="this cloud's kumo.conf: also report CPU ms per server of "
                             "each of its daemons (utime+stime from /proc) per phase")
    parser.add_argument("--rabbit-cpu", action="store_true",
                        help="with --config, count RabbitMQ's (beam.smp) CPU too "
                             "(shared by every cloud on the machine)")
    parser.add_argument("--poll-all", action="store_true",
                        help="poll every server of the run while booting (the default "
                             "lists only those still in BUILD, a cheaper observer)")
    args = parser.parse_args()

    client = common.Client(args.endpoint, args.token)
    client.lift_quotas()
    flavor = client.flavor_id(args.flavor)
    image = client.image_id(args.image)
    prefix = f"bench-boot-{os.getpid()}-{int(time.time())}"

    def boot(i: int) -> str:
        _, body = client.request("POST", "/servers", {"server": {
            "name": f"{prefix}-{i}", "flavorRef": flavor, "imageRef": image}})
        return body["server"]["id"]

    def is_active(server):
        if server is None:
            return False, False
        return server["status"] == "ACTIVE", server["status"] == "ERROR"

    def left_build(server):
        # Listing only BUILD: a server gone from the list finished (see not_active).
        return server is None, False

    def not_active(done: dict[str, float]) -> dict[str, str]:
        servers = {s["id"]: s["status"] for s in client.list_servers(name=f"^{prefix}")}
        return {uuid: servers.get(uuid, "?") for uuid in done
                if servers.get(uuid) != "ACTIVE"}

    meter = CpuMeter(args.config, args.rabbit_cpu) if args.config else None
    cpu0 = meter.sample() if meter else {}
    load0 = os.getloadavg()[0]
    common.log(f"booting {args.servers} servers with {args.concurrency} clients ({prefix})")
    if args.poll_all:
        boot_fig, booted = phase(client, args.servers, args.concurrency, boot, is_active,
                                 prefix, args.poll, args.timeout)
    else:
        boot_fig, booted = phase(client, args.servers, args.concurrency, boot, left_build,
                                 prefix, args.poll, args.timeout, status="BUILD",
                                 check=not_active)
    if meter:
        cpu1 = meter.sample()
        boot_fig["cpu_ms_per_server"] = meter.per_server(cpu0, cpu1, boot_fig["ok"])
    boot_fig["loadavg_1m"] = [round(load0, 2), round(os.getloadavg()[0], 2)]
    common.log(f"boot: {boot_fig}")
    result = {"bench": "boot", "servers": args.servers, "concurrency": args.concurrency,
              "nodes": args.nodes, "flavor": args.flavor, "poll_s": args.poll,
              "poll": "all" if args.poll_all else "BUILD",
              "boot": boot_fig}

    if not args.no_delete:
        # Delete every server this run created, ACTIVE or not.
        uuids = [s["id"] for s in client.list_servers(name=f"^{prefix}")]

        def delete(i: int) -> str:
            uuid = uuids[i]
            client.request("DELETE", f"/servers/{uuid}", ok=(204, 404))
            return uuid

        def is_gone(server):
            if server is None or server["status"] == "DELETED":
                return True, False
            return False, server["status"] == "ERROR"

        common.log(f"deleting {len(uuids)} servers with {args.concurrency} clients")
        cpu1 = meter.sample() if meter else {}
        load1 = os.getloadavg()[0]
        delete_fig, _ = phase(client, len(uuids), args.concurrency, delete, is_gone,
                              prefix, args.poll, args.timeout)
        if meter:
            delete_fig["cpu_ms_per_server"] = meter.per_server(cpu1, meter.sample(),
                                                               delete_fig["ok"])
        delete_fig["loadavg_1m"] = [round(load1, 2), round(os.getloadavg()[0], 2)]
        common.log(f"delete: {delete_fig}")
        result["delete"] = delete_fig
    common.emit(result)
    return 0


if __name__ == "__main__":
    common.run_main("boot", main)
