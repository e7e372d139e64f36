"""kumo-consoleauth's RPC endpoint."""

import oslo_messaging as messaging

from kumo import manager


class ConsoleAuthManager(manager.Manager):
    target = messaging.Target(version="1.0")
