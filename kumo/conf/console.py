"""[vnc], [spice], [consoleauth] and [console] options: remote consoles and their proxies."""

from oslo_config import cfg

vnc_group = cfg.OptGroup("vnc", title="VNC console options")
spice_group = cfg.OptGroup("spice", title="SPICE console options")
consoleauth_group = cfg.OptGroup("consoleauth", title="Console token options")
console_group = cfg.OptGroup("console", title="Console proxy options")

vnc_opts = [
    cfg.BoolOpt("enabled", default=True,
                help="Hand out VNC consoles (os-getVNCConsole, remote-consoles protocol "
                     "vnc); when False kumo-compute answers 'Unavailable console type'."),
    cfg.HostAddressOpt(
        "novncproxy_host", default="0.0.0.0", help="Address kumo-novncproxy listens on."
    ),
    cfg.PortOpt("novncproxy_port", default=6080, help="Port of kumo-novncproxy."),
    cfg.URIOpt("novncproxy_base_url", default="http://127.0.0.1:6080/vnc_lite.html",
               help="Public URL of the noVNC viewer page behind kumo-novncproxy; a novnc "
                    "console's URL is this with ?path=%3Ftoken%3D<token> (noVNC 1.x "
                    "reads the WebSocket path, token included, from 'path')."),
    cfg.StrOpt("novncproxy_static_dir", default="/usr/share/novnc",
               help="Directory of noVNC's web files kumo-novncproxy serves over plain "
                    "HTTP (Debian package novnc). Missing: only WebSockets are served."),
    cfg.HostAddressOpt(
        "xvpvncproxy_host", default="0.0.0.0", help="Address kumo-xvpvncproxy listens on."
    ),
    cfg.PortOpt("xvpvncproxy_port", default=6081, help="Port of kumo-xvpvncproxy."),
    cfg.URIOpt("xvpvncproxy_base_url", default="http://127.0.0.1:6081/console",
               help="Public URL of kumo-xvpvncproxy; an xvpvnc console's URL is this "
                    "with ?token=<token>."),
    cfg.StrOpt("server_proxyclient_address", default=None,
               help="Address the console proxies reach this compute host's guest VNC "
                    "displays at. Unset: the address the display listens on (this "
                    "host's [compute] host_ip when that is a wildcard)."),
]

spice_opts = [
    cfg.BoolOpt("enabled", default=True,
                help="Hand out SPICE consoles (os-getSPICEConsole, remote-consoles "
                     "protocol spice)."),
    cfg.HostAddressOpt(
        "html5proxy_host", default="0.0.0.0", help="Address kumo-spicehtml5proxy listens on."
    ),
    cfg.PortOpt("html5proxy_port", default=6082, help="Port of kumo-spicehtml5proxy."),
    cfg.URIOpt("html5proxy_base_url", default="http://127.0.0.1:6082/spice_auto.html",
               help="Public URL of the SPICE HTML5 client page behind "
                    "kumo-spicehtml5proxy; a console's URL is this with ?token=<token>."),
    cfg.StrOpt("html5proxy_static_dir", default="/usr/share/spice-html5",
               help="Directory of the SPICE HTML5 client's web files (Debian package "
                    "spice-html5). Missing: only WebSockets are served."),
    cfg.URIOpt("spice_direct_proxy_base_url", default="http://127.0.0.1:13002/nova",
               help="Public URL of an external native SPICE proxy (microversion 2.99's "
                    "spice-direct consoles); it resolves the token through "
                    "GET /os-console-auth-tokens/{token}."),
    cfg.StrOpt("server_proxyclient_address", default=None,
               help="Address the console proxies reach this compute host's guest SPICE "
                    "displays at. Unset: as [vnc] server_proxyclient_address."),
]

consoleauth_opts = [
    cfg.IntOpt("token_ttl", default=600, min=1,
               help="Seconds a console token stays valid after it was issued. Tokens "
                    "live in kumo-consoleauth's memory: a restart drops them all."),
]

console_opts = [
    cfg.ListOpt("allowed_origins", default=[],
                help="Origin host names (besides the proxy's own Host) a browser may "
                     "open a console WebSocket from; others are refused (403)."),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    for group, opts in list_opts().items():
        conf.register_group(group)
        conf.register_opts(opts, group=group)


def list_opts() -> dict:
    return {vnc_group: vnc_opts, spice_group: spice_opts,
            consoleauth_group: consoleauth_opts, console_group: console_opts}
