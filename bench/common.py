"""Shared helpers of the bench scripts: a tiny stdlib REST client, percentiles, output.

Standard library only (urllib, threads), so the scripts run with any Python
3.11+ and need nothing installed; the scheduler bench imports kumo itself.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import sys
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterable
from typing import Any

DEFAULT_ENDPOINT = "http://127.0.0.1:8774/v2.1"
DEFAULT_TOKEN = "admin:admin"  # noauth2: user:project


class ApiError(Exception):
    def __init__(self, method: str, path: str, status: int, body: str) -> None:
        super().__init__(f"{method} {path} -> {status}: {body[:300]}")
        self.status = status


class Client:
    """One keep-alive HTTP connection per thread to the compute API."""

    def __init__(self, endpoint: str = DEFAULT_ENDPOINT, token: str = DEFAULT_TOKEN,
                 timeout: float = 120.0) -> None:
        url = urllib.parse.urlsplit(endpoint)
        self.scheme = url.scheme
        self.netloc = url.netloc
        self.base = url.path.rstrip("/")
        self.token = token
        self.timeout = timeout
        self._local = threading.local()

    def _conn(self) -> http.client.HTTPConnection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            cls = (http.client.HTTPSConnection if self.scheme == "https"
                   else http.client.HTTPConnection)
            conn = self._local.conn = cls(self.netloc, timeout=self.timeout)
        return conn

    def request(self, method: str, path: str, body: Any = None,
                ok: Iterable[int] = (200, 201, 202, 204)) -> tuple[int, Any]:
        headers = {"X-Auth-Token": self.token, "Accept": "application/json"}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        for attempt in (1, 2):
            conn = self._conn()
            try:
                conn.request(method, self.base + path, body=data, headers=headers)
                resp = conn.getresponse()
                raw = resp.read()
                break
            except (http.client.HTTPException, OSError):
                # A keep-alive connection the server closed: reconnect once.
                conn.close()
                self._local.conn = None
                if attempt == 2:
                    raise
        if resp.status not in ok:
            raise ApiError(method, path, resp.status, raw.decode(errors="replace"))
        if not raw:
            return resp.status, None
        try:
            return resp.status, json.loads(raw)
        except ValueError:
            return resp.status, raw.decode(errors="replace")

    def get(self, path: str, **kw: Any) -> Any:
        return self.request("GET", path, **kw)[1]

    # -- helpers used by several benches ---------------------------------
    def flavor_id(self, name: str) -> str:
        for flavor in self.get("/flavors")["flavors"]:
            if flavor["name"] == name or flavor["id"] == name:
                return flavor["id"]
        raise SystemExit(f"no flavor named {name!r}")

    def image_id(self, name: str | None = None) -> str:
        images = self.get("/images")["images"]
        if not images:
            raise SystemExit("no image: import one first (devstack does)")
        if name is None:
            return images[0]["id"]
        for image in images:
            if image["name"] == name or image["id"] == name:
                return image["id"]
        raise SystemExit(f"no image named {name!r}")

    def lift_quotas(self) -> None:
        """Make the benchmark's project's server quotas unlimited (the defaults allow
        10 servers); needs an admin token."""
        project = self.token.partition(":")[2] or self.token.partition(":")[0]
        self.request("PUT", f"/os-quota-sets/{project}", {"quota_set": {
            "instances": -1, "cores": -1, "ram": -1}})

    def list_servers(self, detail: bool = True, **params: Any) -> list[dict[str, Any]]:
        """Every server (following the pagination markers)."""
        out: list[dict[str, Any]] = []
        marker = None
        while True:
            query = dict(params, limit=1000)
            if marker:
                query["marker"] = marker
            page = self.get(f"/servers{'/detail' if detail else ''}?"
                            + urllib.parse.urlencode(query))["servers"]
            out.extend(page)
            if len(page) < 1000:
                return out
            marker = page[-1]["id"]


def percentile(values: list[float], pct: float) -> float | None:
    """Nearest-rank-with-interpolation percentile; None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    pos = (len(ordered) - 1) * pct / 100.0
    lo = int(pos)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000.0, 2)


def rnd(value: float | None, digits: int = 3) -> float | None:
    return None if value is None else round(value, digits)


def run_threads(count: int, target: Callable[[int], None]) -> None:
    """Run ``target(i)`` in ``count`` threads and wait; re-raise the first error."""
    errors: list[BaseException] = []

    def wrap(i: int) -> None:
        try:
            target(i)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=wrap, args=(i,), daemon=True) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]


def api_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--endpoint", default=DEFAULT_ENDPOINT,
                        help=f"compute API base URL (default {DEFAULT_ENDPOINT})")
    parser.add_argument("--token", default=DEFAULT_TOKEN,
                        help="X-Auth-Token (noauth2 'user:project'; default admin:admin)")


def emit(result: dict[str, Any]) -> None:
    """The one JSON line of figures on stdout."""
    result.setdefault("at", time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
    sys.stdout.write(json.dumps(result, sort_keys=False) + "\n")
    sys.stdout.flush()


def run_main(bench: str, main: Callable[[], int]) -> None:
    """Run ``main``; on an API or connection failure print one JSON line with the error, exit 1."""
    try:
        rc = main()
    except (ApiError, RuntimeError, OSError, http.client.HTTPException) as exc:
        log(f"failed: {exc}")
        emit({"bench": bench, "error": str(exc)})
        rc = 1
    sys.exit(rc)


# --- CPU from /proc (api.py and boot.py with --config) ---------------------------------

_TICK = os.sysconf("SC_CLK_TCK")


def process_cpu_s(pid: int) -> float:
    """CPU seconds of one process: its own utime+stime plus those of its children it
    has reaped (cutime+cstime: a forked worker that exited and was replaced keeps
    counting); 0 when it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rpartition(")")[2].split()
    except OSError:
        return 0.0
    # After the command: state is field 3, utime..cstime are fields 14..17.
    return sum(int(x) for x in fields[11:15]) / _TICK


def rabbit_pids() -> list[int]:
    """The RabbitMQ (``beam.smp``) processes of the machine."""
    import memory  # imports this module

    return [int(pid) for pid in filter(str.isdigit, os.listdir("/proc"))
            if os.path.basename((memory._cmdline(pid) or [""])[0]) == "beam.smp"]


class CpuMeter:
    """CPU seconds so far of each kumo daemon of one cloud (found by its kumo.conf as
    bench/memory.py does; a daemon's forked workers, live or reaped, count with it)
    and, with ``rabbit``, of RabbitMQ (shared by every cloud on the machine, so an
    upper bound). The difference of two samples over a phase, per operation, is the
    steady figure on a shared machine, where wall-clock rates swing with other load.
    One helper for every script, so their figures count the same things."""

    def __init__(self, config: str, rabbit: bool = True) -> None:
        self.config = config
        self.rabbit = rabbit

    def sample(self) -> dict[str, float]:
        """{daemon name (and "rabbitmq"): CPU seconds}; daemons found anew each time."""
        import memory  # imports this module

        out = {name: sum(process_cpu_s(p) for pid in pids
                         for p in [pid, *memory._children(pid)])
               for name, pids in memory.find_daemons(self.config).items()}
        if self.rabbit:
            out["rabbitmq"] = sum(process_cpu_s(pid) for pid in rabbit_pids())
        return out

    @staticmethod
    def per_operation(before: dict[str, float], after: dict[str, float],
                      count: int) -> dict[str, float]:
        """{name: ms of CPU per operation} of the names that used any between the two
        samples ({} for no operations)."""
        if not count:
            return {}
        out = {}
        for name in sorted(after):
            used = after[name] - before.get(name, 0.0)
            if used > 0:
                out[name] = round(used * 1000.0 / count, 1)
        return out


def log(msg: str) -> None:
    sys.stderr.write(f"[{time.strftime('%H:%M:%S')}] {msg}\n")
    sys.stderr.flush()
