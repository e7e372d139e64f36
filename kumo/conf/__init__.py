"""kumo's configuration: every option group registered on oslo.config's global CONF.

Services use the global ``cfg.CONF`` because oslo.messaging registers some of
its own options only there.
"""

from oslo_config import cfg

from kumo.conf import (
    api,
    compute,
    conductor,
    console,
    database,
    default,
    fake,
    image,
    libvirt,
    network,
    quota,
    scheduler,
    upgrade_levels,
)

CONF = cfg.CONF

_MODULES = (
    default, database, api, compute, conductor, console, fake, image, libvirt, network,
    quota, scheduler, upgrade_levels,
)

for _module in _MODULES:
    _module.register_opts(CONF)
