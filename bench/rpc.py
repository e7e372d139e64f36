"""The fixed cost of one RPC call on kumo's bus: CPU on the caller, the server and RabbitMQ.

Every kumo operation crosses the bus at least once, so what one call of a
trivial method costs bounds every figure of bench/api.py and bench/boot.py.
This starts (by default) a private RabbitMQ node the way the functional tests
do (needs root and rabbitmq-server), an RPC server process built with
:func:`kumo.rpc.get_server` serving one ``echo`` method, and calls it ``--calls``
times, one at a time, from this process through :class:`kumo.rpc.RPCAPIBase`
(so with the call monitor, the request context and the object serializer, as
kumo's daemons call). Prints one JSON line: CPU milliseconds per call of the
caller (this process), the server process and the broker (from /proc, as
:func:`common.process_cpu_s` counts them), and the p50/p95 latency.

``--url rabbit://...`` uses an existing broker instead (your own vhost): its
CPU figure then includes whatever else that broker serves. ``--direct``
measures the direct path of kumo's reads instead (:mod:`kumo.rpc_direct`: the
server also runs :func:`kumo.rpc.get_direct_server`, and the calls name no
server, as the API's reads).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import common  # noqa: E402

TOPIC = "bench-rpc"
SERVER = "bench"


def _broker_pids(marker_dir: str | None) -> list[int]:
    """The broker's processes: the private node's (by its environment marker) or every beam.smp."""
    if marker_dir is None:
        return common.rabbit_pids()
    pids = []
    for entry in filter(str.isdigit, os.listdir("/proc")):
        pid = int(entry)
        try:
            with open(f"/proc/{pid}/comm") as f:
                comm = f.read().strip()
            with open(f"/proc/{pid}/environ", "rb") as f:
                if marker_dir.encode() not in f.read():
                    continue
        except OSError:
            continue
        if comm != "epmd":
            pids.append(pid)
    return pids


def serve(url: str) -> None:
    """The server process: one RPC server on TOPIC/SERVER until stdin closes."""
    import oslo_messaging as messaging

    from kumo import rpc
    from kumo.conf import CONF

    CONF([], project="kumo")
    rpc.init(url=url)

    class Endpoint:
        target = messaging.Target(version="1.0")

        def echo(self, ctxt: Any, value: Any) -> Any:
            return value

    server = rpc.get_server(messaging.Target(topic=TOPIC, server=SERVER), [Endpoint()])
    server.start()
    direct = rpc.get_direct_server(TOPIC, [Endpoint()], frozenset({"echo"}), rpc.InFlight())
    if direct is not None:
        direct.start()
        direct.wait_ready(30)
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    sys.stdin.read()
    if direct is not None:
        direct.stop()
        direct.wait(10)
    server.stop()
    server.wait()
    rpc.cleanup()


def _cpu_sample(server: int, broker: list[int]) -> tuple[float, float, float]:
    """CPU seconds so far of this process (the caller), the server and the broker."""
    return (time.process_time(), common.process_cpu_s(server),
            sum(map(common.process_cpu_s, broker)))


def measure(url: str, calls: int, warmup: int, marker_dir: str | None,
            direct: bool = False) -> dict[str, Any]:
    from kumo import context, rpc
    from kumo.conf import CONF

    CONF([], project="kumo")
    rpc.init(url=url)

    class BenchAPI(rpc.RPCAPIBase):
        TOPIC = TOPIC
        SERVICE = "conductor"
        DIRECT = frozenset({"echo"})

    target = None if direct else SERVER  # a call to a given server never goes direct

    server = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--serve", url],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        if server.stdout.readline().strip() != "ready":
            raise RuntimeError("the RPC server process did not start")
        api = BenchAPI()
        ctxt = context.RequestContext(user_id="u", project_id="p", roles=["member", "reader"])
        for _ in range(warmup):
            api.call(ctxt, "echo", {"value": "x"}, server=target)
        broker = _broker_pids(marker_dir)
        before = _cpu_sample(server.pid, broker)
        latencies = []
        started = time.monotonic()
        for _ in range(calls):
            t0 = time.perf_counter()
            api.call(ctxt, "echo", {"value": "x"}, server=target)
            latencies.append(time.perf_counter() - t0)
        wall = time.monotonic() - started
        after = _cpu_sample(server.pid, broker)
    finally:
        if server.stdin is not None:
            server.stdin.close()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
        rpc.cleanup()
    per_call = [(b - a) * 1000.0 / calls for a, b in zip(before, after, strict=True)]
    return {
        "bench": "rpc",
        "path": "direct" if direct else "oslo.messaging",
        "calls": calls,
        "cpu_ms_per_call": {
            "caller": common.rnd(per_call[0]),
            "server": common.rnd(per_call[1]),
            "rabbitmq": common.rnd(per_call[2]),
            "total": common.rnd(sum(per_call)),
        },
        "p50_ms": common.ms(common.percentile(latencies, 50)),
        "p95_ms": common.ms(common.percentile(latencies, 95)),
        "calls_per_s": common.rnd(calls / wall, 1),
        "broker": "private" if marker_dir else url.rsplit("@", 1)[-1],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000, help="measured calls (default 2000)")
    parser.add_argument("--warmup", type=int, default=200, help="calls before measuring")
    parser.add_argument("--url", help="an existing broker's transport URL (default: start "
                        "a private RabbitMQ node; needs root)")
    parser.add_argument("--broker-marker", help="with --url: count only the broker processes "
                        "whose environment holds this string (a private node's data dir)")
    parser.add_argument("--direct", action="store_true",
                        help="measure the direct path of reads (kumo.rpc_direct)")
    parser.add_argument("--serve", metavar="URL", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve)
        return 0
    if args.url:
        common.emit(measure(args.url, args.calls, args.warmup, args.broker_marker,
                            args.direct))
        return 0
    from tests.functional import harness

    reason = harness.rabbitmq_unavailable_reason()
    if reason:
        raise RuntimeError(reason)
    broker = harness.RabbitMQ()
    try:
        common.log(f"starting {broker!r}")
        broker.start()
        url = broker.add_vhost("bench")
        common.emit(measure(url, args.calls, args.warmup, str(broker.dir), args.direct))
    finally:
        broker.destroy()
    return 0


if __name__ == "__main__":
    common.run_main("rpc", main)
