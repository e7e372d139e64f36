"""[upgrade_levels]: RPC version caps, so services of adjacent releases can talk."""

from oslo_config import cfg

upgrade_group = cfg.OptGroup(
    "upgrade_levels",
    title="RPC version caps",
    help="Cap the RPC version a client sends to each service while an upgrade "
    "is in progress. Unset means the newest version this release knows.",
)

SERVICES = ("conductor", "scheduler", "compute", "network", "cert", "consoleauth")

opts = [
    cfg.StrOpt(name, help=f"Highest RPC API version sent to kumo-{name}.")
    for name in SERVICES
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    conf.register_group(upgrade_group)
    conf.register_opts(opts, group=upgrade_group)


def list_opts() -> dict:
    return {upgrade_group: opts}
