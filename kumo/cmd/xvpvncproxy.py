"""kumo-xvpvncproxy: the VNC console proxy for the non-browser (Java) client.

The proxy joins the bus, registers and heartbeats; its listener (token
check with kumo-consoleauth, then proxying to the instance's console)
arrives with the console work.
"""

from kumo.cmd import common

BINARY = "kumo-xvpvncproxy"


def main() -> None:
    common.prepare(BINARY)
    from kumo import service

    common.launch(BINARY, lambda: service.Service(BINARY))
