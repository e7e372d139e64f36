"""Service: one running kumo daemon on one host, as its row records it."""

from __future__ import annotations

from oslo_versionedobjects import fields

from kumo.objects import base


@base.KumoObjectRegistry.register
class Service(base.KumoObject):
    # Version 1.0: Initial version
    VERSION = "1.0"

    fields = {
        "id": fields.IntegerField(),
        "uuid": fields.UUIDField(),
        "host": fields.StringField(),
        "binary": fields.StringField(),
        "topic": fields.StringField(nullable=True),
        "report_count": fields.IntegerField(default=0),
        "disabled": fields.BooleanField(default=False),
        "disabled_reason": fields.StringField(nullable=True),
        "forced_down": fields.BooleanField(default=False),
        "last_seen_up": fields.DateTimeField(nullable=True),
        "version": fields.IntegerField(default=0),
        "created_at": fields.DateTimeField(nullable=True),
        "updated_at": fields.DateTimeField(nullable=True),
    }
