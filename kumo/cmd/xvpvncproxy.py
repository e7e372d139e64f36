"""kumo-xvpvncproxy: the VNC console proxy for the non-browser (Java) client.

Joins the bus (registers, heartbeats) and listens on ``[vnc] xvpvncproxy_host``:
``xvpvncproxy_port``: an HTTP request carrying an ``xvpvnc`` token, then raw
VNC both ways (:mod:`kumo.proxies.xvp`, docs/consoles.md).
"""

from oslo_config import cfg

from kumo.cmd import common

BINARY = "kumo-xvpvncproxy"
CONF = cfg.CONF


def main() -> None:
    common.prepare(BINARY)
    from kumo import service
    from kumo.proxies import xvp

    def build() -> service.Service:
        proxy = xvp.XvpConsoleProxy(CONF.vnc.xvpvncproxy_host, CONF.vnc.xvpvncproxy_port)
        return service.Service(BINARY, listeners=(proxy,))

    common.launch(BINARY, build)
