"""kumo-conductor: database access and long-running task orchestration."""

from kumo.cmd import common

BINARY = "kumo-conductor"


def main() -> None:
    common.prepare(BINARY)
    from kumo import service
    from kumo.conductor import manager, rpcapi

    common.launch(BINARY, lambda: service.Service(
        BINARY, topic=rpcapi.TOPIC, manager=manager.ConductorManager()))
