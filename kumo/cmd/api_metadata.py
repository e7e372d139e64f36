"""kumo-api-metadata: the metadata API instances query."""

from oslo_config import cfg

from kumo.cmd import common

BINARY = "kumo-api-metadata"
CONF = cfg.CONF


def main() -> None:
    common.prepare(BINARY)
    from kumo import service, wsgi
    from kumo.api.metadata import app

    server = wsgi.Server("metadata-api", app.MetadataAPI(), CONF.api.metadata_listen,
                         CONF.api.metadata_port)
    common.launch(BINARY, lambda: service.Service(BINARY, listeners=(server,)))
