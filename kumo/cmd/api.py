"""kumo-api: the OpenStack Compute API v2.1 over HTTP."""

from oslo_config import cfg

from kumo.cmd import common

BINARY = "kumo-api"
CONF = cfg.CONF


def main() -> None:
    common.prepare(BINARY)
    from kumo import service, wsgi
    from kumo.api.openstack import app

    server = wsgi.Server("compute-api", app.app_factory(), CONF.api.listen, CONF.api.port)
    common.launch(BINARY, lambda: service.Service(BINARY, listeners=(server,)))
