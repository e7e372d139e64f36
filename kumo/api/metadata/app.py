"""kumo-api-metadata's WSGI application: what an instance learns about itself.

``GET /`` lists the EC2 versions; everything else is about the asking
instance (see :mod:`kumo.api.metadata.finder`): ``/<ec2 version>/…``
(:mod:`~kumo.api.metadata.ec2`) and ``/openstack/<version>/…``
(:mod:`~kumo.api.metadata.openstack`). As Nova's service does, it answers 404
for an unknown path, an unknown version and a request no instance is behind,
and takes only GET (and HEAD) — and POST of the guest's encrypted password.
"""

from __future__ import annotations

import posixpath
from typing import Any

import webob
import webob.dec
import webob.exc

from kumo import context as kumo_context
from kumo import exception
from kumo.api.metadata import ec2, finder, openstack, tree

TEXT = "text/plain"
EC2_VERSIONS = ec2.VERSIONS


def _text(body: str | bytes, content_type: str = TEXT) -> webob.Response:
    data = body.encode() if isinstance(body, str) else body
    response = webob.Response(body=data, content_type=content_type)
    if content_type.startswith("text/"):
        response.charset = "utf-8"
    return response


class MetadataAPI:
    """The metadata service; ``conductor`` defaults to kumo-conductor's RPC client."""

    def __init__(self, conductor: Any = None) -> None:
        if conductor is None:
            from kumo.conductor import rpcapi as conductor_rpcapi

            conductor = conductor_rpcapi.ConductorAPI()
        self.finder = finder.InstanceFinder(conductor)

    @webob.dec.wsgify
    def __call__(self, req: webob.Request) -> webob.Response:
        path = posixpath.normpath("/" + req.path_info.lstrip("/"))
        tokens = path.strip("/").split("/")
        if req.method == "POST" and self._is_password(tokens):
            return self._post_password(req, tokens)
        if req.method not in ("GET", "HEAD"):
            return webob.exc.HTTPMethodNotAllowed(headers={"Allow": "GET, HEAD"})
        if path == "/":
            return _text("\n".join((*ec2.VERSIONS, ec2.LATEST)))
        source = self.finder.find(req)
        if source is None:
            return webob.exc.HTTPNotFound()
        try:
            if tokens[0] == "openstack":
                if len(tokens) == 1:
                    return _text("\n".join((*openstack.VERSIONS, openstack.LATEST)))
                body, content_type = openstack.lookup(source, tokens[1:])
                return _text(body, content_type)
            if tokens[0] == "ec2":  # Nova's alias of the EC2 tree's root
                tokens = tokens[1:]
                if not tokens:
                    return _text("\n".join((*ec2.VERSIONS, ec2.LATEST)))
            node = tree.find(ec2.metadata(source, tokens[0]), tokens[1:])
        except (tree.InvalidVersion, openstack.FileNotFound, tree.PathNotFound):
            return webob.exc.HTTPNotFound()
        if isinstance(node, bytes):
            return _text(node)
        return _text(tree.render(node))

    @staticmethod
    def _is_password(tokens: list[str]) -> bool:
        return len(tokens) == 3 and tokens[0] == "openstack" and tokens[2] == openstack.PASSWORD

    def _post_password(self, req: webob.Request, tokens: list[str]) -> webob.Response:
        """A guest stores its encrypted password (``nova get-password`` reads it), once."""
        source = self.finder.find(req)
        try:
            if source is None or openstack.resolve_version(tokens[1]) < openstack.GRIZZLY:
                return webob.exc.HTTPNotFound()
        except tree.InvalidVersion:
            return webob.exc.HTTPNotFound()
        if openstack.password(source):
            return webob.exc.HTTPConflict()
        too_large = webob.exc.HTTPBadRequest("Request is too large.")
        if (req.content_length or 0) > openstack.PASSWORD_MAX_SIZE:
            return too_large
        body = req.body
        if len(body) > openstack.PASSWORD_MAX_SIZE:
            return too_large
        ctxt = kumo_context.get_admin_context()
        try:
            self.finder.conductor.instance_password_set(
                ctxt, source.uuid, body.decode("utf-8", errors="replace"))
        except exception.Conflict:
            return webob.exc.HTTPConflict()
        except exception.NotFound:
            return webob.exc.HTTPNotFound()
        finally:
            self.finder.forget(source.uuid)
        return _text(b"")
