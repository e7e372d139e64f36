"""[conductor] options of kumo-conductor."""

from oslo_config import cfg

conductor_group = cfg.OptGroup("conductor", title="Conductor options")

opts = [
    # Nova's name and meaning; the default differs (Nova: the number of CPUs),
    # see docs/decisions.md "Worker processes".
    cfg.IntOpt("workers", default=1, min=1,
               help="Processes kumo-conductor runs. Each has its own RPC server on "
                    "the conductor topic (the broker hands every message to one of "
                    "them), so more than one lets the conductor use more than one "
                    "CPU; with SQLite their writes still go one at a time. 1: a "
                    "single process, no fork. Each worker takes ~75 MB of memory."),
    # 32: a build holds its thread ~0.6 s under a burst of 25 boots/s (most of it
    # waiting on the scheduler); with 16 the 17th build of a burst waited ~0.6 s in
    # the pool's queue before it started (bench/README.md, boot timeline).
    cfg.IntOpt("task_workers", default=32, min=1,
               help="Threads that run long tasks (build, reschedule, resize, unshelve, "
                    "live migration). They are apart from the RPC dispatch threads, so a "
                    "task waiting on the scheduler never starves the database calls the "
                    "scheduler itself makes to the conductor."),
    cfg.IntOpt("reconcile_interval", default=60, min=0,
               help="Seconds between two passes of the conductor's reconciliation of "
                    "servers whose task nobody is running any more (a conductor that "
                    "stopped mid-task, a compute host that is down). One pass also runs "
                    "at start-up. 0 turns the periodic pass off (the start-up one "
                    "stays)."),
    cfg.IntOpt("reconcile_grace_period", default=180, min=0,
               help="A server's row must be unchanged for this many seconds before the "
                    "reconciliation touches it, so that with several conductors one never "
                    "takes over a task another is still running. Keep it above "
                    "rpc_response_timeout (a task's longest wait, on the scheduler)."),
    cfg.IntOpt("compute_down_task_timeout", default=600, min=0,
               help="A server whose kumo-compute host has not heartbeated for this many "
                    "seconds while the server is in one of that host's tasks (spawning, "
                    "resize_migrating, powering-off, ...) is given up: a build or move "
                    "goes to ERROR with a fault, a power action or snapshot loses its "
                    "task (with a fault), a delete is finished without the host. 0: "
                    "never."),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    conf.register_group(conductor_group)
    conf.register_opts(opts, group=conductor_group)


def list_opts() -> dict:
    return {conductor_group: opts}
