"""[conductor] options of kumo-conductor."""

from oslo_config import cfg

conductor_group = cfg.OptGroup("conductor", title="Conductor options")

opts = [
    cfg.IntOpt("task_workers", default=16, min=1,
               help="Threads that run long tasks (build, reschedule, resize, unshelve, "
                    "live migration). They are apart from the RPC dispatch threads, so a "
                    "task waiting on the scheduler never starves the database calls the "
                    "scheduler itself makes to the conductor."),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    conf.register_group(conductor_group)
    conf.register_opts(opts, group=conductor_group)


def list_opts() -> dict:
    return {conductor_group: opts}
