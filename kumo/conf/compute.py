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
    cfg.IntOpt(
        "fake_nodes",
        default=1,
        min=1,
        help="With the fake driver: how many hypervisor nodes this kumo-compute serves.",
    ),
    cfg.IntOpt("fake_node_vcpus", default=16, min=1, help="vCPUs of each fake node."),
    cfg.IntOpt(
        "fake_node_memory_mb", default=65536, min=1, help="Memory (MiB) of each fake node."
    ),
    cfg.IntOpt("fake_node_disk_gb", default=1024, min=1, help="Disk (GiB) of each fake node."),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    conf.register_group(compute_group)
    conf.register_opts(opts, group=compute_group)


def list_opts() -> dict:
    return {compute_group: opts}
