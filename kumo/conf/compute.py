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
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    conf.register_group(compute_group)
    conf.register_opts(opts, group=compute_group)


def list_opts() -> dict:
    return {compute_group: opts}
