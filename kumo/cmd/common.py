"""What every kumo console script does first: configuration, logging, identity."""

from __future__ import annotations

import sys
from collections.abc import Callable

from oslo_config import cfg
from oslo_log import log as logging

import kumo
from kumo import concurrency, exception, launcher, malloc_tuning, objects, process, service
from kumo import conf as _conf  # noqa: F401  (registers kumo's options)

CONF = cfg.CONF
LOG = logging.getLogger(__name__)


def prepare(binary: str, argv: list[str] | None = None) -> None:
    """Parse ``--config-file``/``--config-dir`` and the command line, set up logging.

    Exits with a message on a configuration the process cannot run with.
    """
    # Before any thread starts: a thread keeps the malloc arena it got.
    malloc_tuning.configure()
    logging.register_options(CONF)
    logging.set_defaults(
        default_log_levels=[*logging.get_default_log_levels(), "alembic=WARN"])
    CONF(sys.argv[1:] if argv is None else argv, project="kumo", prog=binary,
         version=kumo.__version__)
    logging.setup(CONF, "kumo")
    process.set_binary(binary)
    objects.register_all()
    if CONF.rpc_executor == "eventlet" and not concurrency.eventlet_requested():
        error = exception.ConfigError(
            reason="rpc_executor = eventlet needs KUMO_EVENTLET=1 in the service's "
            "environment, so the process is monkey-patched before it starts"
        )
        sys.exit(f"{binary}: {error}")


def launch(binary: str, build: Callable[[], service.Service], workers: int = 1) -> None:
    """Build the daemon's service and run it until it is told to stop.

    A configuration the service cannot run with (an invalid option value, a
    driver this kumo does not ship) ends the process with one line naming
    the problem, not a traceback.

    With ``workers`` > 1 the process forks that many workers (kumo.launcher),
    each of which calls ``build`` itself: ``build`` must be what opens the bus
    connections, threads and database engine, never the code before it.
    """
    if workers <= 1:
        try:
            daemon = build()
        except (cfg.Error, exception.ConfigError) as error:
            sys.exit(f"{binary}: {error}")
        service.serve(daemon)
        return

    def run_worker() -> int:
        try:
            daemon = build()
        except (cfg.Error, exception.ConfigError) as error:
            print(f"{binary}: {error}", file=sys.stderr)
            return launcher.EX_CONFIG
        service.serve(daemon)  # exits
        return 0

    sys.exit(launcher.ProcessLauncher(binary, workers, run_worker).run())
