"""kumo-novncproxy: the browser VNC console proxy (noVNC over WebSocket).

Joins the bus (registers, heartbeats) and listens on ``[vnc] novncproxy_host``:
``novncproxy_port``: ``novnc`` tokens, checked with kumo-consoleauth, open a
WebSocket to the guest's VNC display; noVNC's files come from
``[vnc] novncproxy_static_dir`` (see docs/consoles.md).
"""

from oslo_config import cfg

from kumo.cmd import common

BINARY = "kumo-novncproxy"
CONF = cfg.CONF


def main() -> None:
    common.prepare(BINARY)
    from kumo import service
    from kumo.proxies import websocket

    def build() -> service.Service:
        proxy = websocket.WebSocketConsoleProxy(
            BINARY, CONF.vnc.novncproxy_host, CONF.vnc.novncproxy_port, ["novnc"],
            web_dir=CONF.vnc.novncproxy_static_dir)
        return service.Service(BINARY, listeners=(proxy,))

    common.launch(BINARY, build)
