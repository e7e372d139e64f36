"""The privileged helper of kumo: one oslo.privsep context for network plumbing.

Everything kumo does as root goes through :data:`net_admin` — never ``sudo``
sprinkled around. In a service the context starts a ``privsep-helper`` daemon
(through ``[kumo_net_admin] helper_command``, by default via sudo) that keeps
only the capabilities below; tests running as root may call
:func:`run_in_process` so that the entrypoints run directly in the test
process.

The entrypoints are deliberately few and narrow: run one of a fixed set of
tools (``ip``, ``iptables-save``/``iptables-restore``, ``dnsmasq``,
``sysctl``), optionally inside a network namespace, and signal a process.
"""

from __future__ import annotations

import os
import signal as _signal
import subprocess

from oslo_privsep import capabilities as caps
from oslo_privsep import priv_context

net_admin = priv_context.PrivContext(
    "kumo",
    cfg_section="kumo_net_admin",
    pypath=__name__ + ".net_admin",
    capabilities=[caps.CAP_NET_ADMIN, caps.CAP_NET_RAW, caps.CAP_SYS_ADMIN,
                  caps.CAP_DAC_OVERRIDE, caps.CAP_KILL],
)

# Programs the privileged side agrees to run (argv[0]).
ALLOWED_COMMANDS = frozenset({
    "ip", "iptables", "iptables-save", "iptables-restore", "dnsmasq", "sysctl",
})


class ProcessExecutionError(Exception):
    def __init__(self, cmd: list[str], exit_code: int, stdout: str, stderr: str) -> None:
        self.cmd = cmd
        self.exit_code = exit_code
        self.stdout = stdout
        self.stderr = stderr
        # The arguments, not a message: privsep rebuilds the exception on the
        # unprivileged side as ``ProcessExecutionError(*args)``.
        super().__init__(list(cmd), exit_code, stdout, stderr)

    def __str__(self) -> str:
        return f"{' '.join(self.cmd)!r} exited {self.exit_code}: {self.stderr.strip()}"


def start_daemon() -> None:
    """Start the privsep daemon now (kumo-network calls this at start-up).

    As root the daemon is forked from this process and keeps only the
    context's capabilities; otherwise it is started through
    ``[kumo_net_admin] helper_command`` (by default ``sudo privsep-helper``).
    """
    net_admin.set_client_mode(True)
    method = priv_context.Method.FORK if os.geteuid() == 0 else priv_context.Method.ROOTWRAP
    net_admin.start(method)


def run_in_process() -> None:
    """Run the entrypoints in this process (which must already be root)."""
    net_admin.set_client_mode(False)


def namespaced(cmd: list[str], namespace: str | None) -> list[str]:
    if namespace:
        return ["ip", "netns", "exec", namespace, *cmd]
    return list(cmd)


@net_admin.entrypoint
def execute(cmd: list[str], namespace: str | None = None, process_input: str | None = None,
            check_exit_code: bool = True, detach: bool = False) -> tuple[str, str]:
    """Run ``cmd`` (one of :data:`ALLOWED_COMMANDS`), in ``namespace`` if given.

    ``detach`` is for programs that daemonize themselves (dnsmasq): their
    standard streams go to /dev/null so that the daemon does not keep our
    pipes open, and only the exit code is reported.
    """
    cmd = [str(arg) for arg in cmd]
    if not cmd or cmd[0] not in ALLOWED_COMMANDS:
        raise ValueError(f"command not allowed: {cmd[:1]}")
    full = namespaced(cmd, namespace)
    if detach:
        proc = subprocess.run(full, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, text=True, check=False,
                              start_new_session=True)
        stdout = ""
    else:
        proc = subprocess.run(full, input=process_input, capture_output=True, text=True,
                              check=False)
        stdout = proc.stdout
    if check_exit_code and proc.returncode != 0:
        raise ProcessExecutionError(full, proc.returncode, stdout, proc.stderr or "")
    return stdout, proc.stderr or ""


@net_admin.entrypoint
def kill(pid: int, signum: int = int(_signal.SIGTERM)) -> bool:
    """Send ``signum`` to ``pid``; False when there is no such process."""
    try:
        os.kill(int(pid), int(signum))
    except ProcessLookupError:
        return False
    return True
