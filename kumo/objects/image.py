"""Image: a bootable disk image and its metadata (local store or Glance)."""

from __future__ import annotations

from oslo_versionedobjects import fields

from kumo.objects import base


@base.KumoObjectRegistry.register
class Image(base.KumoObject):
    # Version 1.0: Initial version
    VERSION = "1.0"

    fields = {
        "id": fields.UUIDField(),
        "name": fields.StringField(nullable=True),
        "status": fields.StringField(),  # queued, saving, active, killed, deleted
        "visibility": fields.StringField(default="private"),  # public/private/shared/community
        "owner": fields.StringField(nullable=True),
        "disk_format": fields.StringField(nullable=True),
        "container_format": fields.StringField(nullable=True),
        "size": fields.IntegerField(nullable=True),
        "checksum": fields.StringField(nullable=True),
        "min_disk": fields.IntegerField(default=0),
        "min_ram": fields.IntegerField(default=0),
        "protected": fields.BooleanField(default=False),
        "properties": fields.DictOfNullableStringsField(default={}),
        "created_at": fields.DateTimeField(nullable=True),
        "updated_at": fields.DateTimeField(nullable=True),
    }
