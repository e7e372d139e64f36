"""[fake] options of the fake virt driver: simulated hypervisor nodes."""

from oslo_config import cfg

fake_group = cfg.OptGroup("fake", title="Fake virt driver options")

opts = [
    cfg.IntOpt("node_count", default=1, min=1,
               help="Hypervisor nodes one kumo-compute simulates (named <host>-node<i> from 0, "
                    "or <host> when there is one)."),
    cfg.IntOpt("vcpus", default=16, min=1, help="vCPUs of each fake node."),
    cfg.IntOpt("memory_mb", default=65536, min=1, help="Memory (MiB) of each fake node."),
    cfg.IntOpt("local_gb", default=1024, min=1, help="Disk (GiB) of each fake node."),
    cfg.FloatOpt("spawn_delay", default=0.0, min=0.0,
                 help="Seconds a spawn takes (other operations take a tenth of it)."),
    cfg.ListOpt("fail_spawn_on_nodes", default=[],
                help="Nodes whose spawns fail (for tests of rescheduling)."),
    # Remote consoles: every fake guest's display is this address (tests point it
    # at a listener of their own).
    cfg.HostAddressOpt("console_host", default="127.0.0.1",
                       help="Host of every fake guest's VNC and SPICE display."),
    cfg.PortOpt("vnc_port", default=5900, help="Port of every fake guest's VNC display."),
    cfg.PortOpt("spice_port", default=5901,
                help="Port of every fake guest's SPICE display."),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    conf.register_group(fake_group)
    conf.register_opts(opts, group=fake_group)


def list_opts() -> dict:
    return {fake_group: opts}
