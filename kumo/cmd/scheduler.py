"""kumo-scheduler: picks hosts for new and moving servers."""

from kumo.cmd import common

BINARY = "kumo-scheduler"


def main() -> None:
    common.prepare(BINARY)
    from kumo import service
    from kumo.scheduler import manager, rpcapi

    common.launch(BINARY, lambda: service.Service(
        BINARY, topic=rpcapi.TOPIC, manager=manager.SchedulerManager()))
