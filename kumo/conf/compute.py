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
                 help="Seconds between reports of this host's nodes to the conductor."),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    conf.register_group(compute_group)
    conf.register_opts(opts, group=compute_group)


def list_opts() -> dict:
    return {compute_group: opts}
