#!/usr/bin/env python3
"""API latency: p50/p95 and requests/s of three reads, with 1 and 8 concurrent clients.

Makes sure ``--servers`` (1,000) servers exist in the project first, booting the
missing ones in batches (``min_count``/``max_count``, ``--batch`` per request)
and waiting for them to be ACTIVE. Then, for each concurrency level, each
client sends requests for ``--duration`` seconds (after a short warm-up):

* ``GET /servers/detail?limit=1000``
* ``GET /servers/{id}`` (ids taken round-robin from the listed servers)
* ``GET /flavors/detail``

Prints one JSON line. ``--cleanup`` deletes the servers this run booted.
With ``--config`` (the cloud's kumo.conf), each figure also gives the CPU time
(utime+stime from /proc, forked workers included) per request of kumo-api,
kumo-conductor, RabbitMQ (``beam.smp``: shared by every cloud on the machine,
so an upper bound) and of this client, over the measured seconds.

    python bench/api.py
    python bench/api.py --servers 100 --duration 3 --cleanup
    python bench/api.py --config data/kumo.conf
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

PREFIX = "bench-api"
# api.py's figure names: the daemons a read crosses, RabbitMQ, and this client.
_GROUPS = {"api": "kumo-api", "conductor": "kumo-conductor", "rabbitmq": "rabbitmq"}


def cpu_sampler(config: str | None):
    """A function answering {name: CPU seconds so far} for kumo-api, kumo-conductor
    (with their forked workers, :class:`common.CpuMeter`), RabbitMQ and this process;
    None without ``config``."""
    if not config:
        return None
    meter = common.CpuMeter(config, rabbit=True)

    def sample() -> dict[str, float]:
        found = meter.sample()
        out = {name: found.get(daemon, 0.0) for name, daemon in _GROUPS.items()}
        times = os.times()
        out["client"] = times.user + times.system
        return out

    return sample


def ensure_servers(client: common.Client, wanted: int, batch: int, flavor: str, image: str,
                   timeout: float) -> list[str]:
    """Boot servers until ``wanted`` exist; return the uuids this call booted."""
    have = len(client.list_servers(detail=False))
    missing = wanted - have
    if missing <= 0:
        common.log(f"{have} servers exist: booting none")
        return []
    common.log(f"{have} servers exist: booting {missing} in batches of {batch}")
    tag = f"{PREFIX}-{os.getpid()}-{int(time.time())}"
    reservations = []
    for start in range(0, missing, batch):
        count = min(batch, missing - start)
        _, body = client.request("POST", "/servers", {"server": {
            "name": f"{tag}-{start // batch}", "flavorRef": flavor, "imageRef": image,
            "min_count": count, "max_count": count, "return_reservation_id": True}})
        reservations.append(body["reservation_id"])
    deadline = time.monotonic() + timeout
    while True:
        mine = client.list_servers(name=f"^{tag}")
        statuses: dict[str, int] = {}
        for server in mine:
            statuses[server["status"]] = statuses.get(server["status"], 0) + 1
        if statuses.get("ACTIVE", 0) + statuses.get("ERROR", 0) >= missing:
            if statuses.get("ERROR"):
                common.log(f"{statuses['ERROR']} of the servers booted went to ERROR")
            return [s["id"] for s in mine]
        if time.monotonic() > deadline:
            common.log(f"timed out waiting for the servers: {statuses}")
            return [s["id"] for s in mine]
        time.sleep(1.0)


def measure(client: common.Client, make_path, concurrency: int, duration: float,
            warmup: float, sampler=None) -> dict:
    latencies: list[float] = []
    lock = threading.Lock()
    errors = [0]
    counter = itertools.count()

    def worker(_: int) -> None:
        mine: list[float] = []
        end_warm = time.monotonic() + warmup
        while time.monotonic() < end_warm:
            client.get(make_path(next(counter)))
        start.wait()
        while not stop.is_set():
            path = make_path(next(counter))
            t0 = time.perf_counter()
            try:
                client.get(path)
            except common.ApiError:
                errors[0] += 1
                continue
            mine.append(time.perf_counter() - t0)
        with lock:
            latencies.extend(mine)

    start = threading.Event()
    stop = threading.Event()
    runner = threading.Thread(target=common.run_threads, args=(concurrency, worker),
                              daemon=True)
    runner.start()
    time.sleep(warmup + 0.05)
    cpu0 = sampler() if sampler else None
    t0 = time.monotonic()
    start.set()
    time.sleep(duration)
    stop.set()
    runner.join()
    elapsed = time.monotonic() - t0
    figure = {
        "p50_ms": common.ms(common.percentile(latencies, 50)),
        "p95_ms": common.ms(common.percentile(latencies, 95)),
        "req_per_s": common.rnd(len(latencies) / elapsed, 1),
        "requests": len(latencies),
        "errors": errors[0],
    }
    if cpu0 is not None and latencies:
        # Includes the last requests in flight when stop was set (a few of many).
        cpu1 = sampler()
        figure["cpu_ms_per_request"] = {
            name: common.rnd(1000 * (cpu1[name] - cpu0[name]) / len(latencies), 2)
            for name in cpu1}
        figure["loadavg_1m"] = os.getloadavg()[0]
    return figure


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    common.api_args(parser)
    parser.add_argument("--servers", type=int, default=1000,
                        help="servers that must exist (1000)")
    parser.add_argument("--batch", type=int, default=100, help="servers per boot request (100)")
    parser.add_argument("--flavor", default="m1.tiny")
    parser.add_argument("--image", default=None)
    parser.add_argument("--concurrency", default="1,8",
                        help="comma-separated client counts (1,8)")
    parser.add_argument("--duration", type=float, default=10.0,
                        help="seconds measured per endpoint and concurrency (10)")
    parser.add_argument("--warmup", type=float, default=1.0, help="seconds of warm-up (1)")
    parser.add_argument("--boot-timeout", type=float, default=900.0)
    parser.add_argument("--config", default=None,
                        help="the cloud's kumo.conf: also report CPU per request per daemon")
    parser.add_argument("--only", default=None,
                        help="comma-separated figure names to measure (default: all three)")
    parser.add_argument("--cleanup", action="store_true",
                        help="delete the servers this run booted, at the end")
    args = parser.parse_args()

    client = common.Client(args.endpoint, args.token)
    client.lift_quotas()
    flavor = client.flavor_id(args.flavor)
    image = client.image_id(args.image)
    t0 = time.monotonic()
    booted = ensure_servers(client, args.servers, args.batch, flavor, image, args.boot_timeout)
    setup_s = time.monotonic() - t0
    ids = [s["id"] for s in client.list_servers(detail=False)]
    if not ids:
        raise SystemExit("no servers to read")
    common.log(f"{len(ids)} servers present; measuring")

    endpoints = {
        "servers_detail_limit_1000": lambda i: "/servers/detail?limit=1000",
        "server_show": lambda i: f"/servers/{ids[i % len(ids)]}",
        "flavors_detail": lambda i: "/flavors/detail",
    }
    if args.only:
        endpoints = {name: endpoints[name] for name in args.only.split(",")}
    sampler = cpu_sampler(args.config)
    figures: dict[str, dict] = {}
    for name, make_path in endpoints.items():
        for conc in (int(c) for c in args.concurrency.split(",")):
            fig = measure(client, make_path, conc, args.duration, args.warmup, sampler)
            common.log(f"{name} c={conc}: {fig}")
            figures[f"{name}_c{conc}"] = fig

    result = {"bench": "api", "servers_present": len(ids), "booted": len(booted),
              "setup_s": common.rnd(setup_s, 1), "duration_s": args.duration,
              "figures": figures}
    if args.cleanup and booted:
        common.log(f"deleting the {len(booted)} servers this run booted")

        def delete(i: int) -> None:
            for uuid in booted[i::8]:
                client.request("DELETE", f"/servers/{uuid}", ok=(204, 404))

        common.run_threads(8, delete)
        result["deleted"] = len(booted)
    common.emit(result)
    return 0


if __name__ == "__main__":
    common.run_main("api", main)
