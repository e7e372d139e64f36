"""[vnc] and [spice] options of the console proxies."""

from oslo_config import cfg

vnc_group = cfg.OptGroup("vnc", title="VNC console options")
spice_group = cfg.OptGroup("spice", title="SPICE console options")

vnc_opts = [
    cfg.HostAddressOpt(
        "novncproxy_host", default="0.0.0.0", help="Address kumo-novncproxy listens on."
    ),
    cfg.PortOpt("novncproxy_port", default=6080, help="Port of kumo-novncproxy."),
    cfg.HostAddressOpt(
        "xvpvncproxy_host", default="0.0.0.0", help="Address kumo-xvpvncproxy listens on."
    ),
    cfg.PortOpt("xvpvncproxy_port", default=6081, help="Port of kumo-xvpvncproxy."),
]

spice_opts = [
    cfg.HostAddressOpt(
        "html5proxy_host", default="0.0.0.0", help="Address kumo-spicehtml5proxy listens on."
    ),
    cfg.PortOpt("html5proxy_port", default=6082, help="Port of kumo-spicehtml5proxy."),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    conf.register_group(vnc_group)
    conf.register_opts(vnc_opts, group=vnc_group)
    conf.register_group(spice_group)
    conf.register_opts(spice_opts, group=spice_group)


def list_opts() -> dict:
    return {vnc_group: vnc_opts, spice_group: spice_opts}
