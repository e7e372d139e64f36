"""kumo-conductor: database access and long-running task orchestration."""

from oslo_config import cfg

from kumo.cmd import common

BINARY = "kumo-conductor"
CONF = cfg.CONF


def main() -> None:
    common.prepare(BINARY)
    from kumo import service
    from kumo.conductor import manager, rpcapi

    # The manager (its task pool's threads, the database engine) is built in
    # each worker, after the fork.
    common.launch(BINARY, lambda: service.Service(
        BINARY, topic=rpcapi.TOPIC, manager=manager.ConductorManager()),
        workers=CONF.conductor.workers)
