"""A Glance v2 image service backend, through keystoneauth1.

Chosen by ``[image] backend = glance``. Images are returned as plain dicts in
kumo's image shape (the local store's ``images`` rows): Glance's own fields,
with every other top-level key of a Glance image gathered in ``properties``
(Glance v2 keeps custom properties at the top level).

Authentication: with ``[glance] endpoint`` and a request context carrying a
user token, the user's token goes to Glance, so Glance itself decides what
the user may see. Otherwise the service credentials of the ``[glance]``
keystoneauth1 options are used (the endpoint then comes from the catalog
unless configured), and :func:`visible_to` applies Glance's visibility
rules for the request's project: public and community images are visible to
all, private ones to their owner, shared ones to their owner and accepted
members.
"""

from __future__ import annotations

import pathlib
from collections.abc import Iterator
from typing import Any, BinaryIO

from keystoneauth1 import exceptions as ks_exceptions
from keystoneauth1 import loading as ks_loading
from keystoneauth1 import session as ks_session
from keystoneauth1 import token_endpoint
from oslo_config import cfg
from oslo_log import log as logging
from oslo_utils import timeutils

from kumo import exception
from kumo.conf import image as image_conf
from kumo.image import verify

LOG = logging.getLogger(__name__)
CONF = cfg.CONF

CHUNK_SIZE = 1024 * 1024
# Glance v2's own image fields; anything else at the top level is a property.
CORE_FIELDS = ("id", "name", "status", "visibility", "owner", "disk_format",
               "container_format", "size", "virtual_size", "checksum", "min_disk",
               "min_ram", "protected", "created_at", "updated_at", "tags", "os_hash_algo",
               "os_hash_value", "os_hidden")
# Fields Glance computes or links it adds; never sent back to it.
_READ_ONLY = ("id", "status", "size", "virtual_size", "checksum", "created_at",
              "updated_at", "self", "file", "schema", "direct_url", "locations",
              "os_hash_algo", "os_hash_value")
_JSON_PATCH = "application/openstack-images-v2.1-json-patch"


class GlanceError(exception.KumoException):
    msg_fmt = "The image service failed: %(reason)s"


def from_glance(image: dict[str, Any]) -> dict[str, Any]:
    """A Glance v2 image as kumo's image dict (custom properties in ``properties``)."""
    result = {field: image.get(field) for field in CORE_FIELDS}
    result["min_disk"] = result["min_disk"] or 0
    for stamp in ("created_at", "updated_at"):
        # Datetimes, as the local store's rows have them.
        if isinstance(result[stamp], str):
            result[stamp] = timeutils.parse_isotime(result[stamp])
    result["min_ram"] = result["min_ram"] or 0
    result["properties"] = {key: value for key, value in image.items()
                            if key not in CORE_FIELDS and key not in _READ_ONLY}
    return result


def to_glance(values: dict[str, Any]) -> dict[str, Any]:
    """kumo's image values as a Glance v2 create body (properties at the top level)."""
    body = {key: value for key, value in values.items()
            if key not in ("properties", *_READ_ONLY) and value is not None}
    for key, value in (values.get("properties") or {}).items():
        if key not in _READ_ONLY and value is not None:
            body[key] = str(value)
    return body


def visible_to(image: dict[str, Any], project_id: str | None,
               members: Any = None) -> bool:
    """Whether ``project_id`` may see ``image`` (None: an admin sees everything).

    ``members(image_id)`` returns the projects with an accepted membership of a
    shared image; it is only asked for shared images of another owner.
    """
    if project_id is None:
        return True
    visibility = image.get("visibility") or "shared"
    if visibility in ("public", "community"):
        return True
    if image.get("owner") == project_id:
        return True
    if visibility == "shared" and members is not None:
        return project_id in members(image["id"])
    return False


class GlanceClient:
    """list / show / download / upload / create / delete images in Glance v2."""

    def __init__(self, session: ks_session.Session | None = None,
                 endpoint: str | None = None) -> None:
        self._session = session
        self._endpoint = endpoint

    # -- plumbing --------------------------------------------------------------------------

    def _session_for(self, ctxt: Any) -> ks_session.Session:
        if self._session is not None:
            return self._session
        endpoint = self._endpoint or CONF.glance.endpoint
        token = getattr(ctxt, "auth_token", None)
        if endpoint and token:
            return ks_session.Session(auth=token_endpoint.Token(endpoint, token))
        image_conf.register_keystoneauth_opts(CONF)
        auth = ks_loading.load_auth_from_conf_options(CONF, "glance")
        self._session = ks_loading.load_session_from_conf_options(CONF, "glance", auth=auth)
        return self._session

    def _url(self, session: ks_session.Session, path: str) -> str:
        endpoint = self._endpoint or CONF.glance.endpoint
        if not endpoint:
            endpoint = session.get_endpoint(service_type="image",
                                            interface=CONF.glance.interface,
                                            region_name=CONF.glance.region_name)
            if not endpoint:
                raise GlanceError(reason="no image service in the service catalog")
        return endpoint.rstrip("/") + path

    def _request(self, ctxt: Any, method: str, path: str, image_id: str | None = None,
                 **kwargs: Any) -> Any:
        session = self._session_for(ctxt)
        try:
            return session.request(self._url(session, path), method, **kwargs)
        except ks_exceptions.NotFound:
            if image_id is not None:
                raise exception.ImageNotFound(image_id=image_id) from None
            raise GlanceError(reason=f"{method} {path}: not found") from None
        except ks_exceptions.Forbidden as error:
            # Glance's owner and protected-image rules: the caller's 403.
            raise exception.ImageNotAuthorized(
                reason=f"Not allowed to {method} {path}: {error.message}") from None
        except ks_exceptions.Conflict as error:
            raise exception.ImageInUse(image_id=image_id or path,
                                       reason=str(error.message)) from None
        except ks_exceptions.HttpError as error:
            raise GlanceError(reason=f"{method} {path}: {error.http_status} "
                                     f"{error.message}") from None
        except ks_exceptions.ClientException as error:
            raise GlanceError(reason=f"{method} {path}: {error}") from None

    # -- images ----------------------------------------------------------------------------

    def list(self, ctxt: Any, project_id: str | None = None,
             filters: dict[str, Any] | None = None, page_size: int = 100
             ) -> list[dict[str, Any]]:
        """Every image ``project_id`` may see (all pages), matching Glance ``filters``."""
        params = dict(filters or {})
        params["limit"] = page_size
        path = "/v2/images"
        images: list[dict[str, Any]] = []
        while True:
            body = self._request(ctxt, "GET", path, params=params).json()
            images.extend(body.get("images", []))
            following = body.get("next")
            if not following:
                break
            # "next" carries the query of the following page (marker, limit, filters).
            path, params = following, None
        return [from_glance(image) for image in images
                if visible_to(image, project_id, lambda i: self._members(ctxt, i))]

    def show(self, ctxt: Any, image_id: str, project_id: str | None = None) -> dict[str, Any]:
        """One image; ImageNotFound also when ``project_id`` may not see it."""
        image = self._request(ctxt, "GET", f"/v2/images/{image_id}", image_id).json()
        # As in Glance, a member sees a shared image by id whatever its membership's
        # status (an admin's snapshot of its server is shared with it pending).
        if not visible_to(image, project_id,
                          lambda i: self._members(ctxt, i, accepted_only=False)):
            raise exception.ImageNotFound(image_id=image_id)
        return from_glance(image)

    def _members(self, ctxt: Any, image_id: str, accepted_only: bool = True) -> set[str]:
        """The projects an image is shared with (only accepted memberships: the
        ones Glance's image list shows)."""
        body = self._request(ctxt, "GET", f"/v2/images/{image_id}/members", image_id).json()
        return {member["member_id"] for member in body.get("members", [])
                if not accepted_only or member.get("status") == "accepted"}

    def data(self, ctxt: Any, image_id: str) -> Iterator[bytes]:
        """The image's bytes in chunks; ImageNotFound when it has none (yet)."""
        response = self._request(ctxt, "GET", f"/v2/images/{image_id}/file", image_id,
                                 stream=True)
        if response.status_code == 204:
            raise exception.ImageNotFound(image_id=image_id)
        return response.iter_content(CHUNK_SIZE)

    def download(self, ctxt: Any, image_id: str, destination: str | pathlib.Path,
                 checksum: str | None = None) -> pathlib.Path:
        """Write the image's bytes to ``destination``, checking the md5 ``checksum``."""
        try:
            return verify.write(self.data(ctxt, image_id), destination,
                                verify.Verifier(image_id, checksum))
        except exception.ImageChecksumMismatch as error:
            raise GlanceError(reason=error.message) from None

    def create(self, ctxt: Any, values: dict[str, Any]) -> dict[str, Any]:
        """A new (queued) image from kumo's image values."""
        body = self._request(ctxt, "POST", "/v2/images", json=to_glance(values)).json()
        return from_glance(body)

    def upload(self, ctxt: Any, image_id: str, data: BinaryIO) -> dict[str, Any]:
        """Send the image's bytes (Glance makes it active); returns the image."""
        self._request(ctxt, "PUT", f"/v2/images/{image_id}/file", image_id,
                      data=iter(lambda: data.read(CHUNK_SIZE), b""),
                      headers={"Content-Type": "application/octet-stream"})
        return self.show(ctxt, image_id)

    def update(self, ctxt: Any, image_id: str, values: dict[str, Any]) -> dict[str, Any]:
        """Set (``None``: remove) fields and properties with a JSON patch."""
        current = self._request(ctxt, "GET", f"/v2/images/{image_id}", image_id).json()
        flat = dict(values)
        flat.update(values.get("properties") or {})
        flat.pop("properties", None)
        patch = []
        for key, value in flat.items():
            if key in _READ_ONLY:
                continue
            if value is None:
                if key in current:
                    patch.append({"op": "remove", "path": f"/{key}"})
            else:
                op = "replace" if key in current else "add"
                patch.append({"op": op, "path": f"/{key}",
                              "value": value if key in CORE_FIELDS else str(value)})
        if not patch:
            return from_glance(current)
        body = self._request(ctxt, "PATCH", f"/v2/images/{image_id}", image_id, json=patch,
                             headers={"Content-Type": _JSON_PATCH}).json()
        return from_glance(body)

    def delete(self, ctxt: Any, image_id: str) -> None:
        self._request(ctxt, "DELETE", f"/v2/images/{image_id}", image_id)

    def add_member(self, ctxt: Any, image_id: str, member_id: str) -> None:
        """Share the image with project ``member_id`` (Glance's member API)."""
        self._request(ctxt, "POST", f"/v2/images/{image_id}/members", image_id,
                      json={"member": member_id})
