"""kumo-compute: runs servers on this host through a virt driver."""

from kumo.cmd import common

BINARY = "kumo-compute"


def main() -> None:
    common.prepare(BINARY)
    from kumo import service
    from kumo.compute import manager, rpcapi

    common.launch(BINARY, lambda: service.Service(
        BINARY, topic=rpcapi.TOPIC, manager=manager.ComputeManager()))
