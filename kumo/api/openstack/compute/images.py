"""``/images``: Nova's image proxy over the images the caller's project may see."""

from __future__ import annotations

from typing import Any

import webob
from oslo_utils import timeutils

from kumo.api.openstack import common
from kumo.api.openstack.compute import views


def _matches(image: Any, params: Any) -> bool:
    """Nova's image list filters, applied to one image."""
    if "name" in params and image.name != params["name"]:
        return False
    if "status" in params and views.image_status(image) != params["status"].upper():
        return False
    properties = image.get("properties", {})
    if "server" in params and (properties or {}).get("instance_uuid") != params["server"]:
        return False
    if "type" in params and (properties or {}).get("image_type") != params["type"]:
        return False
    for param, field in (("minRam", "min_ram"), ("minDisk", "min_disk")):
        if param in params:
            try:
                wanted = int(params[param])
            except ValueError:
                raise common.BadRequest(
                    reason=f"Invalid {param} filter [{params[param]}]") from None
            if (getattr(image, field, 0) or 0) < wanted:
                return False
    return True


class ImagesController:
    def __init__(self, clients: common.Clients) -> None:
        self.clients = clients

    def index(self, req: webob.Request) -> webob.Response:
        return self._list(req, views.image_basic, "images")

    def detail(self, req: webob.Request) -> webob.Response:
        return self._list(req, views.image_detail, "images/detail")

    def _list(self, req: webob.Request, view: Any, collection: str) -> webob.Response:
        context = common.context_of(req)
        limit, marker = common.limit_and_marker(req)
        changes_since = None
        if "changes-since" in req.params:
            raw = req.params["changes-since"]
            try:
                changes_since = timeutils.parse_isotime(raw)
            except ValueError:
                raise common.BadRequest(reason=(
                    f"Invalid input for field/attribute changes-since. Value: {raw}. "
                    f"'{raw}' is not a 'date-time'")) from None
        images = self.clients.conductor.image_get_all(
            context, project_id=common.project_scope(context))
        images = [image for image in images if _matches(image, req.params)]
        if changes_since is not None:
            images = [image for image in images
                      if (views.updated_at(image) or changes_since) >= changes_since]
        images = common.page(images, limit, marker, "id")
        return common.list_response(req, "images", [view(req, image) for image in images],
                                    collection, limit)

    def show(self, req: webob.Request, image_id: str) -> webob.Response:
        context = common.context_of(req)
        image = self.clients.conductor.image_get(
            context, image_id=image_id, project_id=common.project_scope(context))
        return common.json_response({"image": views.image_detail(req, image)})
