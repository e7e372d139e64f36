"""[compute] options of kumo-compute."""

from oslo_config import cfg

compute_group = cfg.OptGroup("compute", title="Compute service options")

opts = [
    cfg.StrOpt(
        "compute_driver",
        default="fake",
        choices=[
            ("fake", "no hypervisor; one process may serve many fake nodes"),
            ("libvirt", "libvirt (KVM or QEMU)"),
            ("xenapi", "XenServer / XCP through XenAPI"),
            ("vmwareapi", "VMware vSphere"),
        ],
        help="The virt driver kumo-compute drives.",
    ),
    cfg.FloatOpt("resource_report_interval", default=10.0, min=1.0,
                 help="Seconds between reports of this host's nodes to the conductor "
                      "(checked every [DEFAULT] periodic_interval)."),
    cfg.FloatOpt("sync_power_state_interval", default=60.0, min=1.0,
                 help="Seconds between comparisons of the guests' power states with "
                      "the database (a guest that shut itself down becomes SHUTOFF)."),
    cfg.StrOpt("host_ip", default=None,
               help="IP address of this host reported with its nodes "
                    "(the fake driver reports 127.0.0.1 when unset)."),
    cfg.FloatOpt("cpu_allocation_ratio", default=None, min=0.0,
                 help="vCPU overcommit of this host's nodes; unset: the scheduler's "
                      "[scheduler] cpu_allocation_ratio."),
    cfg.FloatOpt("ram_allocation_ratio", default=None, min=0.0,
                 help="Memory overcommit of this host's nodes; unset: the scheduler's "
                      "[scheduler] ram_allocation_ratio."),
    cfg.FloatOpt("disk_allocation_ratio", default=None, min=0.0,
                 help="Disk overcommit of this host's nodes; unset: the scheduler's "
                      "[scheduler] disk_allocation_ratio."),
    cfg.IntOpt("task_timeout", default=3600, min=0,
               help="Seconds a server on this host may stay in one of kumo-compute's "
                    "task states (spawning, resize_migrating, shelving, ...) while this "
                    "process is not working on it, before it is handled like a task a "
                    "restart interrupted (a build is rescheduled, a move goes to ERROR "
                    "with a fault, a power action is finished). It catches casts lost "
                    "while the broker restarted; keep it above the longest operation "
                    "of the driver. 0: never."),
    cfg.IntOpt("lost_build_timeout", default=120, min=0,
               help="Seconds a build of this host may stay in spawning without a guest "
                    "while this process does not run it, before it is handed back to the "
                    "conductor to be tried again (on another host, counted in [scheduler] "
                    "max_attempts). Its cast, or the reschedule after it failed, was "
                    "lost: a broker that restarts drops the messages of its queues. A "
                    "cast that only came late is dropped when it comes. Checked every "
                    "sync_power_state_interval. 0: only [compute] task_timeout applies."),
]

# Options of kumo-compute kept in [DEFAULT], where Nova has them.
default_opts = [
    cfg.IntOpt("resize_confirm_window", default=0, min=0,
               help="Seconds after which kumo-compute confirms a resized server still "
                    "waiting for confirmation (VERIFY_RESIZE) by itself. 0: never."),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    conf.register_group(compute_group)
    conf.register_opts(opts, group=compute_group)
    conf.register_opts(default_opts)


def list_opts() -> dict:
    return {compute_group: opts, "DEFAULT": default_opts}
