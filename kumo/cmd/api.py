"""kumo-api: the OpenStack Compute API v2.1 over HTTP."""

from oslo_config import cfg

from kumo.cmd import common

BINARY = "kumo-api"
CONF = cfg.CONF


def main() -> None:
    common.prepare(BINARY)
    from kumo import service, wsgi
    from kumo.api.openstack import app

    # Bound before any fork, so every worker accepts on the same socket; the
    # application (its RPC clients) is built in each worker.
    server = wsgi.Server("compute-api", None, CONF.api.listen, CONF.api.port)

    def build() -> service.Service:
        server.set_app(app.app_factory())
        return service.Service(BINARY, listeners=(server,))

    common.launch(BINARY, build, workers=CONF.osapi_compute_workers)
