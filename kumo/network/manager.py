"""kumo-network's RPC endpoint."""

import oslo_messaging as messaging

from kumo import manager


class NetworkManager(manager.Manager):
    target = messaging.Target(version="1.0")
