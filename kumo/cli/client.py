"""The CLI's connection to the Compute API: a keystoneauth1 adapter with a microversion.

Two ways in, as the OpenStack clients have them: a token for a known endpoint
(``OS_COMPUTE_API_URL`` + ``OS_TOKEN``, e.g. ``admin:admin`` for a noauth2
cloud, the ``admin_token`` way), or a Keystone password session from the
usual ``OS_AUTH_URL``/``OS_USERNAME``/… variables, where the endpoint comes
from the service catalog.
"""

from __future__ import annotations

import argparse
import contextlib
from typing import Any

from keystoneauth1 import adapter, session, token_endpoint
from keystoneauth1 import exceptions as ks_exc
from keystoneauth1.identity import generic

SERVICE_TYPE = "compute"


class CommandError(Exception):
    """A failure to report to the user as ``ERROR: <message>`` with exit status 1."""


class APIError(CommandError):
    """The Compute API answered 4xx/5xx; ``message`` is the API's own words."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"{message} (HTTP {status})")
        self.status = status
        self.message = message


def api_message(resp: Any) -> str:
    """The ``message`` of a Compute API fault body (``{"itemNotFound": {"message": …}}``)."""
    try:
        body = resp.json()
    except ValueError:
        return (resp.text or resp.reason or "").strip()
    if isinstance(body, dict):
        for value in body.values():
            if isinstance(value, dict) and "message" in value:
                return str(value["message"])
        if "message" in body:
            return str(body["message"])
    return str(body)


def make_session(args: argparse.Namespace) -> tuple[session.Session, str | None]:
    """A session and, for token access, the endpoint to use (else: the catalog's)."""
    if args.os_compute_api_url and args.os_token:
        auth = token_endpoint.Token(args.os_compute_api_url, args.os_token)
        return session.Session(auth=auth, timeout=args.timeout), args.os_compute_api_url
    if not args.os_auth_url:
        raise CommandError("set OS_COMPUTE_API_URL and OS_TOKEN (a token for a known "
                           "endpoint), or OS_AUTH_URL, OS_USERNAME, OS_PASSWORD and "
                           "OS_PROJECT_NAME (Keystone)")
    auth = generic.Password(
        auth_url=args.os_auth_url, username=args.os_username, password=args.os_password,
        project_name=args.os_project_name, user_domain_name=args.os_user_domain_name,
        project_domain_name=args.os_project_domain_name)
    return session.Session(auth=auth, timeout=args.timeout), args.os_compute_api_url


def _root_url(endpoint: str) -> str:
    """The versions document's URL: the endpoint without ``/v2.1[/<project>]``."""
    base = endpoint.rstrip("/")
    index = base.find("/v2")
    return (base[:index] if index >= 0 else base) + "/"


class Client:
    """JSON requests to the Compute API at one microversion; errors become :class:`APIError`."""

    def __init__(self, sess: session.Session, endpoint: str | None = None,
                 api_version: str = "latest", interface: str | None = None,
                 region_name: str | None = None) -> None:
        self._adapter = adapter.Adapter(
            sess, service_type=SERVICE_TYPE, endpoint_override=endpoint,
            interface=interface or "public", region_name=region_name)
        self._requested_version = api_version
        self._token = getattr(sess.auth, "token", None)
        self._version: str | None = None

    @property
    def endpoint(self) -> str:
        try:
            url = self._adapter.get_endpoint()
        except ks_exc.ClientException as exc:
            raise CommandError(f"no compute endpoint: {exc}") from exc
        if not url:
            raise CommandError("no compute endpoint in the service catalog")
        return url

    def versions(self) -> list[dict[str, Any]]:
        """The version documents at the endpoint's root (``GET /``)."""
        resp = self._adapter.get(_root_url(self.endpoint), raise_exc=False)
        return self._decode(resp)["versions"]

    @property
    def api_version(self) -> str:
        """The microversion sent: the one asked for, or the server's maximum for ``latest``."""
        if self._version is None:
            if self._requested_version == "latest":
                current = [v for v in self.versions() if v.get("status") == "CURRENT"]
                chosen = current[0] if current else self.versions()[-1]
                self._version = chosen.get("version") or "2.1"
            else:
                self._version = self._requested_version
        return self._version

    def api_version_at_least(self, version: str) -> bool:
        """Whether the microversion in use is ``version`` or later."""
        def key(text: str) -> tuple[int, int]:
            major, _, minor = text.partition(".")
            return int(major), int(minor or 0)
        return key(self.api_version) >= key(version)

    @property
    def project_id(self) -> str | None:
        """The caller's project: the token's scope, or the ``user:project`` of a noauth2 token."""
        with contextlib.suppress(ks_exc.ClientException):
            project = self._adapter.get_project_id()
            if project:
                return project
        token = self._token or ""
        return token.partition(":")[2] or None

    def require(self, version: str, what: str) -> None:
        """CommandError unless the microversion in use is ``version`` or later."""
        if not self.api_version_at_least(version):
            raise CommandError(f"{what} needs microversion {version} or later "
                               f"(this cloud offers {self.api_version})")

    def capped(self, version: str) -> str:
        """The microversion in use, but no later than ``version``."""
        return version if self.api_version_at_least(version) else self.api_version

    def request(self, method: str, path: str, body: Any = None,
                microversion: str | None = None) -> Any:
        """``method`` on ``path`` (relative to the endpoint); the decoded body or None.

        ``microversion`` overrides the client's for this request (the image
        proxy, say, is gone after 2.35).
        """
        kwargs: dict[str, Any] = {"raise_exc": False,
                                  "microversion": microversion or self.api_version,
                                  "headers": {"Accept": "application/json"}}
        if body is not None:
            kwargs["json"] = body
        try:
            resp = self._adapter.request(path, method, **kwargs)
        except ks_exc.ConnectFailure as exc:
            raise CommandError(f"cannot reach the compute API: {exc}") from exc
        return self._decode(resp)

    @staticmethod
    def _decode(resp: Any) -> Any:
        if resp.status_code >= 400:
            raise APIError(resp.status_code, api_message(resp))
        if not resp.content:
            return None
        try:
            return resp.json()
        except ValueError:
            return resp.text

    def get(self, path: str, microversion: str | None = None) -> Any:
        return self.request("GET", path, microversion=microversion)

    def post(self, path: str, body: Any = None) -> Any:
        return self.request("POST", path, body)

    def put(self, path: str, body: Any = None) -> Any:
        return self.request("PUT", path, body)

    def delete(self, path: str) -> Any:
        return self.request("DELETE", path)

    def action(self, server_id: str, name: str, value: Any = None) -> Any:
        """``POST /servers/{id}/action`` with ``{name: value}``."""
        return self.post(f"/servers/{server_id}/action", {name: value})
