"""kumo-network: fixed and floating IPs, bridges, DHCP, security groups."""

from kumo.cmd import common

BINARY = "kumo-network"


def main() -> None:
    common.prepare(BINARY)
    from kumo import service
    from kumo.network import manager, rpcapi

    common.launch(BINARY, lambda: service.Service(
        BINARY, topic=rpcapi.TOPIC, manager=manager.load_manager()))
