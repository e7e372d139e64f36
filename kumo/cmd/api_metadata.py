"""kumo-api-metadata: the metadata API instances query."""

from oslo_config import cfg

from kumo.cmd import common

BINARY = "kumo-api-metadata"
CONF = cfg.CONF


def main() -> None:
    common.prepare(BINARY)
    from kumo import service, wsgi
    from kumo.api.metadata import app

    # Bound before any fork (workers share it); the application per worker.
    server = wsgi.Server("metadata-api", None, CONF.api.metadata_listen,
                         CONF.api.metadata_port)

    def build() -> service.Service:
        server.set_app(app.MetadataAPI())
        return service.Service(BINARY, listeners=(server,))

    common.launch(BINARY, build, workers=CONF.metadata_workers)
