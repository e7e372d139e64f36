"""Typed errors with a user-facing message and the HTTP code the API answers with."""

from __future__ import annotations


class KumoException(Exception):
    """Base of every kumo error.

    Subclasses set ``msg_fmt`` (formatted with the keyword arguments) and
    ``code`` (the HTTP status the API layer turns it into).
    """

    msg_fmt = "An unknown error occurred."
    code = 500

    def __init__(self, message: str | None = None, **kwargs: object) -> None:
        self.kwargs = kwargs
        if message is None:
            try:
                message = self.msg_fmt % kwargs
            except (KeyError, TypeError):
                message = self.msg_fmt
        self.message = message
        super().__init__(message)


class Invalid(KumoException):
    msg_fmt = "Invalid input: %(reason)s"
    code = 400


class NotFound(KumoException):
    msg_fmt = "Resource could not be found."
    code = 404


class Conflict(KumoException):
    msg_fmt = "Conflict: %(reason)s"
    code = 409


class Forbidden(KumoException):
    msg_fmt = "Forbidden: %(reason)s"
    code = 403


class ServiceNotFound(NotFound):
    msg_fmt = "Service %(service_id)s could not be found."


class HostBinaryNotFound(NotFound):
    msg_fmt = "Could not find binary %(binary)s on host %(host)s."


class ServiceExists(Conflict):
    msg_fmt = "Service with host %(host)s binary %(binary)s exists."


class DBAccessForbidden(KumoException):
    msg_fmt = (
        "%(binary)s may not open the database: only kumo-conductor and "
        "kumo-manage do. Read and write through the conductor's RPC API."
    )


class ServiceUnavailable(KumoException):
    msg_fmt = "%(service)s did not answer within %(timeout)s s (%(method)s); is it running?"
    code = 503


class ConfigError(KumoException):
    msg_fmt = "Configuration error: %(reason)s"


class BusUnavailable(KumoException):
    msg_fmt = "The message bus could not deliver %(method)s: %(reason)s"
    code = 503


class InstanceNotFound(NotFound):
    msg_fmt = "Instance %(instance_id)s could not be found."


class FlavorNotFound(NotFound):
    msg_fmt = "Flavor %(flavor_id)s could not be found."


class FlavorExists(Conflict):
    msg_fmt = "Flavor with %(what)s %(value)s already exists."


class ImageNotFound(NotFound):
    msg_fmt = "Image %(image_id)s could not be found."


class ComputeNodeNotFound(NotFound):
    msg_fmt = "Compute node %(node)s could not be found."


class InstanceInvalidState(Conflict):
    """An action the server's current state does not allow (the API answers 409)."""

    msg_fmt = ("Cannot '%(action)s' instance %(instance_uuid)s while it is in "
               "%(attr)s %(state)s")


class UnexpectedTaskStateError(Conflict):
    """A guarded update lost a race: the task state was not what the caller expected."""

    msg_fmt = ("Conflict updating instance %(instance_uuid)s. Expected: %(expected)s. "
               "Actual: %(actual)s")


class UnexpectedDeletingTaskStateError(UnexpectedTaskStateError):
    pass


class ComputeResourcesUnavailable(KumoException):
    """A claim on a node did not fit (someone else took the resources first)."""

    msg_fmt = "Insufficient compute resources on %(node)s: %(reason)s"
    code = 409


class NoValidHost(KumoException):
    msg_fmt = "No valid host was found. %(reason)s"
    code = 500


class InstanceFaultInjected(KumoException):
    """The fake driver failed an operation on purpose (tests)."""

    msg_fmt = "Injected failure of %(operation)s on %(node)s"


class MarkerNotFound(NotFound):
    """A list's ``marker`` names no row of that list (the API answers 400)."""

    msg_fmt = "Marker %(marker)s could not be found."
    code = 400


class InstanceActionNotFound(NotFound):
    """A request recorded no action on the server (os-instance-actions)."""

    msg_fmt = "Action for request_id %(request_id)s on instance %(instance_uuid)s not found"


class InstanceNotReady(Conflict):
    """The server has no host yet, so nothing can act on its guest (409)."""

    msg_fmt = "Instance %(instance_id)s is not ready"
