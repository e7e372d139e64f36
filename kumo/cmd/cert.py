"""kumo-cert: the X.509 certificate authority."""

from kumo.cmd import common

BINARY = "kumo-cert"


def main() -> None:
    common.prepare(BINARY)
    from kumo import service
    from kumo.cert import manager, rpcapi

    common.launch(BINARY, lambda: service.Service(
        BINARY, topic=rpcapi.TOPIC, manager=manager.CertManager()))
