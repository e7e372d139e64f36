"""kumo-consoleauth: issues and checks console tokens."""

from kumo.cmd import common

BINARY = "kumo-consoleauth"


def main() -> None:
    common.prepare(BINARY)
    from kumo import service
    from kumo.consoleauth import manager, rpcapi

    common.launch(BINARY, lambda: service.Service(
        BINARY, topic=rpcapi.TOPIC, manager=manager.ConsoleAuthManager()))
