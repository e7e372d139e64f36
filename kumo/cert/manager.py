"""kumo-cert's RPC endpoint."""

import oslo_messaging as messaging

from kumo import manager


class CertManager(manager.Manager):
    target = messaging.Target(version="1.0")
