"""Real things for the functional tests: a private RabbitMQ node and clouds of kumo daemons.

Nothing here imports kumo: the test process is not a kumo daemon. The daemons
are the installed console scripts, found next to the running interpreter, run
as real processes over a real broker and a real SQLite file. The test process
reads that file directly (it is only ever a reader) to watch heartbeats.
"""

from __future__ import annotations

import atexit
import contextlib
import datetime
import json
import os
import random
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")

CONDUCTOR = "kumo-conductor"
# Every daemon of a cloud, the conductor first: it is the only one that opens
# the database, and the others register their service rows through it.
BINARIES = (
    CONDUCTOR,
    "kumo-scheduler",
    "kumo-compute",
    "kumo-network",
    "kumo-cert",
    "kumo-consoleauth",
    "kumo-api",
    "kumo-api-metadata",
    "kumo-novncproxy",
    "kumo-spicehtml5proxy",
    "kumo-xvpvncproxy",
)
# The daemons a server's life (boot, actions, moves, delete) over the compute API
# needs; a module that only does that may start just these (CLOUD_BINARIES).
SERVER_BINARIES = (CONDUCTOR, "kumo-scheduler", "kumo-compute", "kumo-network", "kumo-api")

# Short intervals keep the suite fast; every cloud is configured with them.
REPORT_INTERVAL = 1
SERVICE_DOWN_TIME = 5
GRACEFUL_SHUTDOWN_TIMEOUT = 10
# How long teardown waits after SIGTERM before it kills what is left.
STOP_BOUND = GRACEFUL_SHUTDOWN_TIMEOUT + 5

# Set in the environment of every RabbitMQ process a fixture starts, so that
# teardown can find (and kill) exactly those and nothing else.
RABBITMQ_MARKER = "KUMO_FUNCTIONAL_RABBITMQ"
RABBITMQ_USER = "rabbitmq"


class WaitTimeout(AssertionError):
    """A condition a test waited for did not come true in time."""


def wait_for(predicate: Callable[[], T], timeout: float, interval: float = 0.2,
             message: str | Callable[[], str] = "condition") -> T:
    """Poll ``predicate`` until it returns something truthy, and return that.

    :raises WaitTimeout: still falsy after ``timeout`` seconds; ``message``
        (or what it returns, when callable) says what was awaited.
    """
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() >= deadline:
            detail = message() if callable(message) else message
            raise WaitTimeout(f"not within {timeout:g}s: {detail}")
        time.sleep(interval)


def console_script(name: str) -> Path:
    """The console script ``name`` of the environment the tests run in."""
    path = Path(sys.executable).parent / name
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist: is kumo installed in this venv?")
    return path


def free_port() -> int:
    """A TCP port on loopback that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _port_is_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def stable_free_port(exclude: Iterable[int] = ()) -> int:
    """A free port below the kernel's ephemeral range.

    A broker that is restarted must get its port back; a port from the
    ephemeral range could meanwhile become the source port of some outgoing
    connection.
    """
    try:
        low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        low = 32768
    excluded = set(exclude)
    if low > 20100:
        for _ in range(200):
            port = random.randrange(20000, low)
            if port not in excluded and _port_is_free(port):
                return port
    port = free_port()
    while port in excluded:
        port = free_port()
    return port


def tail(path: Path, lines: int = 40) -> str:
    """The last ``lines`` lines of a text file, or a note that there is none."""
    try:
        text = path.read_text(errors="replace")
    except FileNotFoundError:
        return f"({path} does not exist)"
    return "\n".join(text.splitlines()[-lines:]) or f"({path} is empty)"


def _kill_group(pid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signum)


# -- RabbitMQ ---------------------------------------------------------------------------


def rabbitmq_unavailable_reason() -> str | None:
    """Why a private RabbitMQ node cannot be started here, or None when it can."""
    if os.geteuid() != 0:
        return "functional tests start RabbitMQ as its own OS user and need root"
    if _rabbit_tool("rabbitmq-server") is None or _rabbit_tool("rabbitmqctl") is None:
        return "rabbitmq-server is not installed (apt-get install rabbitmq-server)"
    try:
        import pwd

        pwd.getpwnam(RABBITMQ_USER)
    except KeyError:
        return f"there is no {RABBITMQ_USER!r} OS user (is rabbitmq-server installed?)"
    return None


def _rabbit_tool(name: str) -> str | None:
    path = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/usr/lib/rabbitmq/bin"])
    return shutil.which(name, path=path)


class RabbitMQ:
    """A private RabbitMQ node on loopback: its own name, ports and data directory.

    The packaged wrappers run the node as the ``rabbitmq`` OS user, so the data
    directory is a fresh one under the system temp dir, owned by that user.
    :meth:`stop` and :meth:`start` keep the name, ports and data (vhosts,
    users), as a restart of a real broker does.
    """

    def __init__(self) -> None:
        server, ctl = _rabbit_tool("rabbitmq-server"), _rabbit_tool("rabbitmqctl")
        assert server and ctl, rabbitmq_unavailable_reason()
        self.server, self.ctl_path = server, ctl
        self.dir = Path(tempfile.mkdtemp(prefix="kumo-functional-rabbitmq-"))
        self.nodename = f"kumo-ft-{os.getpid()}-{uuid.uuid4().hex[:6]}@localhost"
        self.port = stable_free_port()
        self.dist_port = stable_free_port(exclude={self.port})
        self.log_path = self.dir / "server.log"
        self.pid_file = self.dir / "rabbitmq.pid"
        self._process: subprocess.Popen[bytes] | None = None
        # Seconds the last start() took until the node accepted connections.
        self.started_in = 0.0
        (self.dir / "mnesia").mkdir()
        (self.dir / "log").mkdir()
        (self.dir / "enabled_plugins").write_text("[].\n")
        (self.dir / "rabbitmq.conf").write_text(
            "# kumo functional tests: a private node, loopback only\n"
            "loopback_users.guest = true\n")
        (self.dir / "rabbitmq-env.conf").write_text("")
        shutil.chown(self.dir, RABBITMQ_USER, RABBITMQ_USER)
        for path in self.dir.rglob("*"):
            shutil.chown(path, RABBITMQ_USER, RABBITMQ_USER)

    def __repr__(self) -> str:
        return f"<RabbitMQ {self.nodename} amqp=127.0.0.1:{self.port}>"

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("RABBITMQ_")}
        env.update({
            "RABBITMQ_NODENAME": self.nodename,
            "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
            "RABBITMQ_NODE_PORT": str(self.port),
            "RABBITMQ_DIST_PORT": str(self.dist_port),
            "ERL_EPMD_ADDRESS": "127.0.0.1",
            "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS":
                "-kernel inet_dist_use_interface {127,0,0,1}",
            "RABBITMQ_MNESIA_BASE": str(self.dir / "mnesia"),
            "RABBITMQ_LOG_BASE": str(self.dir / "log"),
            "RABBITMQ_PID_FILE": str(self.pid_file),
            "RABBITMQ_CONFIG_FILE": str(self.dir / "rabbitmq.conf"),
            "RABBITMQ_ADVANCED_CONFIG_FILE": str(self.dir / "advanced.config"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(self.dir / "enabled_plugins"),
            "RABBITMQ_CONF_ENV_FILE": str(self.dir / "rabbitmq-env.conf"),
            "ERL_CRASH_DUMP": str(self.dir / "erl_crash.dump"),
            RABBITMQ_MARKER: str(self.dir),
        })
        return env

    def url(self, vhost: str = "") -> str:
        return f"rabbit://guest:guest@127.0.0.1:{self.port}/{vhost}"

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self, timeout: float = 90) -> None:
        """Start the node and wait until it accepts AMQP connections."""
        if self.running:
            return
        started = time.monotonic()
        with open(self.log_path, "ab") as log:
            log.write(f"==== {_now()} starting {self.nodename}\n".encode())
            log.flush()
            self._process = subprocess.Popen(
                [self.server], env=self.env(), stdin=subprocess.DEVNULL, stdout=log,
                stderr=subprocess.STDOUT, start_new_session=True)

        def accepting() -> bool:
            if not self.running:
                raise RuntimeError(f"RabbitMQ {self.nodename} exited while starting:\n"
                                   f"{self.log_tail()}")
            with contextlib.suppress(OSError), \
                    socket.create_connection(("127.0.0.1", self.port), timeout=1):
                return True
            return False

        wait_for(accepting, timeout, interval=0.25,
                 message=lambda: f"{self!r} accepting connections\n{self.log_tail()}")
        self.started_in = time.monotonic() - started

    def stop(self, timeout: float = 60) -> None:
        """Stop the node (``rabbitmqctl stop``), killing it if that does not work in time."""
        if self._process is None:
            return
        if self.running:
            with contextlib.suppress(subprocess.TimeoutExpired, RuntimeError):
                self.ctl("stop", str(self.pid_file), timeout=timeout)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._process.wait(timeout=10)
        self._kill_strays()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self._process.wait(timeout=10)
        self._process = None

    def destroy(self, keep_dir: bool = False) -> None:
        """Stop the node for good and remove its data directory."""
        try:
            self.stop()
        finally:
            self._kill_strays()
            if not keep_dir:
                shutil.rmtree(self.dir, ignore_errors=True)

    def _kill_strays(self) -> None:
        """SIGKILL every process of this node (the wrapper, beam.smp) still alive.

        The packaged wrapper switches user with ``su``, which puts the node in
        a session of its own: the node is found by the marker in its
        environment. epmd is shared by every Erlang node on the machine and is
        left alone.
        """
        if self._process is not None and self._process.poll() is None:
            _kill_group(self._process.pid, signal.SIGKILL)
        for pid in _pids_with_env(RABBITMQ_MARKER, str(self.dir)):
            if _comm(pid) != "epmd":
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)

    def ctl(self, *args: str, timeout: float = 60) -> str:
        """Run ``rabbitmqctl`` against this node; its standard output."""
        result = subprocess.run(
            [self.ctl_path, "-q", "-n", self.nodename, *args], env=self.env(),
            stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=timeout)
        if result.returncode != 0:
            raise RuntimeError(f"rabbitmqctl {' '.join(args)} exited {result.returncode}:\n"
                               f"{result.stdout}{result.stderr}")
        return result.stdout

    def add_vhost(self, vhost: str) -> str:
        """Create ``vhost``, let guest use it, and return its transport URL."""
        self.ctl("add_vhost", vhost)
        self.ctl("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")
        return self.url(vhost)

    def log_tail(self, lines: int = 30) -> str:
        node_log = self.dir / "log" / f"{self.nodename}.log"
        return (f"--- {self.log_path}\n{tail(self.log_path, lines)}\n"
                f"--- {node_log}\n{tail(node_log, lines)}")


def _pids_with_env(name: str, value: str) -> list[int]:
    wanted = f"{name}={value}".encode()
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            environ = (entry / "environ").read_bytes()
        except OSError:
            continue
        if wanted in environ.split(b"\0"):
            pids.append(int(entry.name))
    return pids


def _comm(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


def _now() -> str:
    return datetime.datetime.now().isoformat(sep=" ", timespec="milliseconds")


# -- kumo daemons -------------------------------------------------------------------------


@dataclass(frozen=True)
class ServiceRow:
    """The columns of a ``services`` row the tests look at."""

    id: int
    host: str
    binary: str
    report_count: int
    last_seen_up: datetime.datetime | None
    forced_down: bool
    disabled: bool

    def age(self) -> float:
        """Seconds since the last heartbeat (the conductor stamps naive UTC)."""
        if self.last_seen_up is None:
            return float("inf")
        return (_utcnow() - self.last_seen_up).total_seconds()


def _utcnow() -> datetime.datetime:
    """Now as the conductor stamps it: naive UTC."""
    return datetime.datetime.now(datetime.UTC).replace(tzinfo=None)


class Daemon:
    """One kumo console script run as a process of its own, logging to a file."""

    def __init__(self, cloud: Cloud, binary: str) -> None:
        self.cloud = cloud
        self.binary = binary
        self.log_path = cloud.log_dir / f"{binary}.log"
        self.process: subprocess.Popen[bytes] | None = None
        # Set when a test stops the daemon on purpose; an exit without it is a crash.
        self.stopped_on_purpose = False

    def __repr__(self) -> str:
        return f"<Daemon {self.binary} pid={self.pid} rc={self.returncode}>"

    def start(self) -> None:
        assert not self.alive, f"{self.binary} is already running"
        self.process = self.cloud.spawn(self.binary, log_path=self.log_path)
        self.stopped_on_purpose = False

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    @property
    def returncode(self) -> int | None:
        return self.process.poll() if self.process else None

    def send(self, signum: int) -> None:
        """Send ``signum``; from now on an exit is expected."""
        assert self.process is not None
        self.stopped_on_purpose = True
        with contextlib.suppress(ProcessLookupError):
            self.process.send_signal(signum)

    def wait(self, timeout: float) -> int | None:
        """The exit code, or None if still running after ``timeout`` seconds."""
        assert self.process is not None
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None

    def kill(self) -> None:
        """SIGKILL the daemon (and anything it started) and reap it."""
        if self.process is None:
            return
        self.stopped_on_purpose = True
        # Not yet reaped, so its pid (and process group id) cannot have been reused.
        if self.process.poll() is None:
            _kill_group(self.process.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=10)

    def log_tail(self, lines: int = 30) -> str:
        return tail(self.log_path, lines)


class Cloud:
    """A kumo cloud on this machine: a config file, an SQLite database and daemons.

    Every cloud has a host name of its own, so its service rows and its
    ``compute.<host>`` topic never mix with another cloud's.
    """

    def __init__(self, root: Path, transport_url: str, host: str | None = None,
                 overrides: Mapping[str, Mapping[str, object]] | None = None) -> None:
        self.root = root
        self.overrides = {name: dict(values) for name, values in (overrides or {}).items()}
        self.transport_url = transport_url
        self.host = host or f"kumo-ft-{uuid.uuid4().hex[:8]}"
        self.db_path = root / "kumo.sqlite"
        self.config_path = root / "kumo.conf"
        self.log_dir = root / "logs"
        self.state_path = root / "state"
        self.api_port = free_port()
        self.metadata_port = free_port()
        self.console_ports = {"novnc": free_port(), "xvpvnc": free_port(),
                              "spicehtml5": free_port()}
        self.daemons: dict[str, Daemon] = {}
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.state_path.mkdir(parents=True, exist_ok=True)
        self.write_config(self.config_path)

    def __repr__(self) -> str:
        return f"<Cloud {self.host} in {self.root}>"

    # -- configuration and one-shot commands ----------------------------------------------

    def options(self) -> dict[str, dict[str, object]]:
        return {
            "DEFAULT": {
                "transport_url": self.transport_url,
                "state_path": self.state_path,
                "host": self.host,
                "report_interval": REPORT_INTERVAL,
                "service_down_time": SERVICE_DOWN_TIME,
                "graceful_shutdown_timeout": GRACEFUL_SHUTDOWN_TIMEOUT,
                "periodic_interval": 1,
                "debug": False,
            },
            "database": {"connection": f"sqlite:///{self.db_path}"},
            # Scale tests boot more servers than Nova's default quotas allow; the
            # quota tests set their projects' limits through the API.
            "quota": {"instances": -1, "cores": -1, "ram": -1},
            "api": {
                "listen": "127.0.0.1",
                "port": self.api_port,
                "metadata_listen": "127.0.0.1",
                "metadata_port": self.metadata_port,
                "auth_strategy": "noauth2",
            },
            "vnc": {
                "novncproxy_host": "127.0.0.1",
                "novncproxy_port": self.console_ports["novnc"],
                "xvpvncproxy_host": "127.0.0.1",
                "xvpvncproxy_port": self.console_ports["xvpvnc"],
            },
            "spice": {
                "html5proxy_host": "127.0.0.1",
                "html5proxy_port": self.console_ports["spicehtml5"],
            },
        }

    def write_config(self, path: Path,
                     overrides: Mapping[str, Mapping[str, object]] | None = None) -> Path:
        """Write this cloud's options, with ``overrides`` applied, as an INI file."""
        sections = {name: dict(values) for name, values in self.options().items()}
        for name, values in [*self.overrides.items(), *(overrides or {}).items()]:
            sections.setdefault(name, {}).update(values)
        lines = []
        for name, values in sections.items():
            lines.append(f"[{name}]")
            lines.extend(f"{key} = {_ini_value(value)}" for key, value in values.items())
            lines.append("")
        path.write_text("\n".join(lines))
        return path

    @property
    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k != "KUMO_EVENTLET"}
        env["PYTHONUNBUFFERED"] = "1"
        return env

    def spawn(self, binary: str, log_path: Path,
              config_files: Iterable[Path] | None = None) -> subprocess.Popen[bytes]:
        """Start console script ``binary`` in a session of its own, logging to ``log_path``."""
        files = list(config_files) if config_files is not None else [self.config_path]
        argv = [str(console_script(binary))]
        for config in files:
            argv += ["--config-file", str(config)]
        with open(log_path, "ab") as log:
            log.write(f"==== {_now()} starting {binary}\n".encode())
            log.flush()
            return subprocess.Popen(argv, env=self.env, cwd=self.root,
                                    stdin=subprocess.DEVNULL, stdout=log,
                                    stderr=subprocess.STDOUT, start_new_session=True)

    def run(self, binary: str, *args: str, config_files: Iterable[Path] | None = None,
            timeout: float = 60) -> subprocess.CompletedProcess[str]:
        """Run console script ``binary`` to completion; output captured, not checked."""
        files = list(config_files) if config_files is not None else [self.config_path]
        argv = [str(console_script(binary))]
        for config in files:
            argv += ["--config-file", str(config)]
        return subprocess.run([*argv, *args], env=self.env, cwd=self.root,
                              stdin=subprocess.DEVNULL, capture_output=True, text=True,
                              timeout=timeout)

    def manage(self, *args: str, timeout: float = 60) -> str:
        """Run ``kumo-manage`` with this cloud's config; its standard output."""
        result = self.run("kumo-manage", *args, timeout=timeout)
        if result.returncode != 0:
            raise RuntimeError(f"kumo-manage {' '.join(args)} exited {result.returncode}:\n"
                               f"{result.stdout}{result.stderr}")
        return result.stdout

    def db_sync(self) -> None:
        self.manage("db", "sync")

    def api(self, method: str, path: str, body: object | None = None,
            token: str = "admin:admin", timeout: float = 30,
            version: str | None = None) -> tuple[int, object]:
        """One Compute API request over HTTP: (status, decoded JSON body or None).

        ``version`` asks for that compute microversion (none: the minimum).
        """
        url = f"http://127.0.0.1:{self.api_port}/v2.1{path}"
        data = None if body is None else json.dumps(body).encode()
        headers = {"X-Auth-Token": token, "Content-Type": "application/json",
                   "Accept": "application/json"}
        if version is not None:
            headers["OpenStack-API-Version"] = f"compute {version}"
        request = urllib.request.Request(url, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=timeout) as reply:
                status, raw = reply.status, reply.read()
        except urllib.error.HTTPError as error:
            status, raw = error.code, error.read()
        return status, (json.loads(raw) if raw else None)

    def service_list(self) -> dict[str, dict[str, object]]:
        """``kumo-manage service list --format json`` of this cloud's host, by binary."""
        listing = json.loads(self.manage("service", "list", "--host", self.host,
                                         "--format", "json"))
        return {entry["binary"]: entry for entry in listing}

    def rpc_ping(self, timeout: float = 60) -> dict[str, str]:
        """Ask every RPC server of this cloud's host to echo over the bus.

        Runs ``rpc_ping.py`` as a process of its own; returns topic -> the
        binary that answered, or ``"error: ..."``.
        """
        result = subprocess.run(
            [sys.executable, str(Path(__file__).with_name("rpc_ping.py")),
             "--config-file", str(self.config_path)],
            env=self.env, cwd=self.root, stdin=subprocess.DEVNULL, capture_output=True,
            text=True, timeout=timeout)
        if result.returncode != 0 or not result.stdout.strip():
            raise RuntimeError(f"rpc_ping exited {result.returncode}:\n"
                               f"{result.stdout}{result.stderr}")
        return json.loads(result.stdout.strip().splitlines()[-1])

    # -- daemons ------------------------------------------------------------------------

    def start(self, binaries: Iterable[str] = BINARIES, timeout: float = 60) -> None:
        """Start ``binaries`` (the conductor first) and wait until all heartbeat."""
        binaries = list(binaries)
        # Rows of an earlier run may still look up; only heartbeats from now count.
        since = _utcnow()
        if CONDUCTOR in binaries:
            self.start_daemon(CONDUCTOR)
            self.wait_up([CONDUCTOR], timeout=timeout, since=since)
        others = [b for b in binaries if b != CONDUCTOR]
        for binary in others:
            self.start_daemon(binary)
        if others:
            self.wait_up(others, timeout=timeout, since=since)

    @contextlib.contextmanager
    def running(self, setup: Callable[[Cloud], object] | None = None,
                binaries: Iterable[str] = BINARIES) -> Iterator[Cloud]:
        """``db sync``, then ``setup`` (if any), then ``binaries`` (every daemon by
        default); all stopped on exit.

        Should the interpreter exit without leaving the block (a crashed
        session), an atexit hook still kills the daemons.
        """
        def kill_all() -> None:
            for daemon in self.daemons.values():
                daemon.kill()

        atexit.register(kill_all)
        try:
            self.db_sync()
            if setup is not None:
                setup(self)
            self.start(binaries)
            yield self
        finally:
            self.stop()
            atexit.unregister(kill_all)

    def start_daemon(self, binary: str) -> Daemon:
        daemon = self.daemons.get(binary) or Daemon(self, binary)
        self.daemons[binary] = daemon
        daemon.start()
        return daemon

    def check_alive(self) -> None:
        """Fail if a daemon exited that no test stopped on purpose."""
        dead = [d for d in self.daemons.values() if not d.alive and not d.stopped_on_purpose]
        if dead:
            raise AssertionError(
                "daemons exited unexpectedly: " + ", ".join(map(repr, dead)) + "\n"
                + self.log_tails([d.binary for d in dead]))

    def ensure_running(self, timeout: float = 60) -> None:
        """Restart the daemons a test stopped on purpose; fail on ones that crashed."""
        self.check_alive()
        stopped = [b for b in BINARIES if b in self.daemons and not self.daemons[b].alive]
        if stopped:
            self.start(stopped, timeout=timeout)

    def stop(self, timeout: float = STOP_BOUND) -> dict[str, int | None]:
        """SIGTERM every daemon still alive, SIGKILL what is left after ``timeout``.

        Returns each daemon's exit code (None for ones that had to be killed).
        """
        codes: dict[str, int | None] = {}
        alive = [d for d in self.daemons.values() if d.alive]
        for daemon in alive:
            daemon.send(signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for daemon in alive:
            codes[daemon.binary] = daemon.wait(max(0.0, deadline - time.monotonic()))
        for daemon in self.daemons.values():
            daemon.kill()
        return codes

    # -- observation --------------------------------------------------------------------

    def query(self, sql: str, *params: object) -> list[tuple[object, ...]]:
        """Rows of a read-only query on the cloud's SQLite file (none before db sync)."""
        if not self.db_path.exists():
            return []
        connection = sqlite3.connect(self.db_path, timeout=10)
        try:
            return connection.execute(sql, params).fetchall()
        finally:
            connection.close()

    def services(self) -> dict[str, ServiceRow]:
        """This cloud's live service rows by binary, read from the SQLite file."""
        rows = self.query(
            "SELECT id, host, binary, report_count, last_seen_up, forced_down, disabled "
            "FROM services WHERE host = ? AND deleted = 0", self.host)
        result = {}
        for row_id, host, binary, count, seen, forced_down, disabled in rows:
            result[binary] = ServiceRow(
                id=row_id, host=host, binary=binary, report_count=count or 0,
                last_seen_up=datetime.datetime.fromisoformat(seen) if seen else None,
                forced_down=bool(forced_down), disabled=bool(disabled))
        return result

    def wait_up(self, binaries: Iterable[str], timeout: float = 60,
                since: datetime.datetime | None = None) -> dict[str, ServiceRow]:
        """Wait until each of ``binaries`` has a row with a fresh heartbeat.

        With ``since`` (naive UTC), only a heartbeat stamped after it counts.
        """
        binaries = list(binaries)

        def heartbeat_after_since(row: ServiceRow) -> bool:
            return since is None or (row.last_seen_up is not None
                                     and row.last_seen_up >= since)

        def all_up() -> dict[str, ServiceRow] | None:
            self.check_alive()
            rows = self.services()
            fresh = {b: rows[b] for b in binaries
                     if b in rows and rows[b].report_count > 0
                     and rows[b].age() < SERVICE_DOWN_TIME
                     and heartbeat_after_since(rows[b])}
            return fresh if len(fresh) == len(binaries) else None

        if not binaries:
            return {}
        return wait_for(all_up, timeout, message=lambda: self._lagging(binaries, "up"))

    def wait_heartbeats(self, binaries: Iterable[str], beats: int = 2,
                        timeout: float = 30) -> dict[str, ServiceRow]:
        """Wait until each of ``binaries`` heartbeats ``beats`` more times from now."""
        binaries = list(binaries)
        start = self.services()
        baseline = {b: start[b].report_count if b in start else 0 for b in binaries}

        def advanced() -> dict[str, ServiceRow] | None:
            self.check_alive()
            rows = self.services()
            if all(b in rows and rows[b].report_count >= baseline[b] + beats
                   for b in binaries):
                return rows
            return None

        return wait_for(advanced, timeout,
                        message=lambda: self._lagging(binaries, f"{beats} more heartbeats",
                                                      baseline))

    def _lagging(self, binaries: list[str], what: str,
                 baseline: Mapping[str, int] | None = None) -> str:
        rows = self.services()
        lines = [f"{self.host}: waiting for {what} of {len(binaries)} services"]
        for binary in binaries:
            row = rows.get(binary)
            state = ("no row" if row is None else
                     f"id={row.id} report_count={row.report_count} "
                     f"last heartbeat {row.age():.1f}s ago")
            if baseline is not None:
                state += f" (baseline {baseline.get(binary)})"
            lines.append(f"  {binary}: {state}")
        return "\n".join(lines) + "\n" + self.log_tails(binaries)

    def log_tails(self, binaries: Iterable[str] | None = None, lines: int = 25) -> str:
        """The end of each daemon's log, for failure reports."""
        chosen = list(binaries) if binaries is not None else list(self.daemons)
        parts = []
        for binary in chosen:
            daemon = self.daemons.get(binary)
            if daemon is not None:
                parts.append(f"--- {daemon!r} {daemon.log_path}\n{daemon.log_tail(lines)}")
        return "\n".join(parts)


def _ini_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)

