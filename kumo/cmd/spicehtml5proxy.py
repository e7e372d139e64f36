"""kumo-spicehtml5proxy: the browser SPICE console proxy (HTML5 client over WebSocket).

Joins the bus (registers, heartbeats) and listens on ``[spice] html5proxy_host``:
``html5proxy_port``: ``spice-html5`` tokens, checked with kumo-consoleauth, open
a WebSocket to the guest's SPICE display; the client's files come from
``[spice] html5proxy_static_dir`` (see docs/consoles.md).
"""

from oslo_config import cfg

from kumo.cmd import common

BINARY = "kumo-spicehtml5proxy"
CONF = cfg.CONF


def main() -> None:
    common.prepare(BINARY)
    from kumo import service
    from kumo.proxies import websocket

    def build() -> service.Service:
        proxy = websocket.WebSocketConsoleProxy(
            BINARY, CONF.spice.html5proxy_host, CONF.spice.html5proxy_port, ["spice-html5"],
            web_dir=CONF.spice.html5proxy_static_dir)
        return service.Service(BINARY, listeners=(proxy,))

    common.launch(BINARY, build)
