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


# --- kumo-network ----------------------------------------------------------------------


class NetworkNotFound(NotFound):
    msg_fmt = "Network %(network_id)s could not be found."


class NetworkExists(Conflict):
    msg_fmt = "A network with %(reason)s already exists."


class NetworkInUse(Conflict):
    msg_fmt = "Network %(network_id)s is still in use."


class NoMoreFixedIps(KumoException):
    msg_fmt = "No fixed IP addresses available for network: %(network_id)s"
    code = 400


class FixedIpAlreadyInUse(Conflict):
    msg_fmt = "Fixed IP address %(address)s is already in use on network %(network_id)s."


class FixedIpNotFoundForNetwork(Invalid):
    msg_fmt = "Fixed IP address %(address)s does not belong to network %(network_id)s."


# --- keypairs and quotas -----------------------------------------------------------------


class KeypairNotFound(NotFound):
    msg_fmt = "Keypair %(name)s not found for user %(user_id)s"


class KeyPairExists(Conflict):
    msg_fmt = "Key pair '%(key_name)s' already exists."


class InvalidKeypair(Invalid):
    msg_fmt = "Keypair data is invalid: %(reason)s"


class OverQuota(Forbidden):
    """A request needs more than a quota leaves; the API answers 403 ``overLimit``."""

    msg_fmt = "Quota exceeded for resources: %(overs)s"
    fault_name = "overLimit"


class TooManyInstances(OverQuota):
    msg_fmt = ("Quota exceeded for %(overs)s: Requested %(req)s, but already used "
               "%(used)s of %(allowed)s %(resource)s")


class KeypairLimitExceeded(OverQuota):
    msg_fmt = "Quota exceeded, too many key pairs."


class MetadataLimitExceeded(Forbidden):
    """Too many metadata items for the metadata_items quota (403 forbidden, as Nova)."""

    msg_fmt = "Maximum number of metadata items exceeds %(allowed)d"


class QuotaClassNotFound(NotFound):
    msg_fmt = "Quota class %(class_name)s could not be found."


# --- server groups, host aggregates, availability zones ---------------------------------


class InstanceGroupNotFound(NotFound):
    msg_fmt = "Instance group %(group_uuid)s could not be found."


class InstanceGroupPolicyViolation(Conflict):
    """Placing a member on a host would break its server group's policy."""

    msg_fmt = "%(reason)s"


class AggregateNotFound(NotFound):
    msg_fmt = "Aggregate %(aggregate_id)s could not be found."


class AggregateNameExists(Conflict):
    msg_fmt = "Aggregate %(aggregate_name)s already exists."


class AggregateHostExists(Conflict):
    msg_fmt = "Aggregate %(aggregate_id)s already has host %(host)s."


class AggregateHostNotFound(NotFound):
    msg_fmt = "Aggregate %(aggregate_id)s has no host %(host)s."


class ComputeHostNotFound(NotFound):
    msg_fmt = "Compute host %(host)s could not be found."


class InvalidAggregateAction(Invalid):
    msg_fmt = "Unacceptable parameters."


class InvalidAggregateActionAdd(InvalidAggregateAction):
    """Adding the host would put it in two availability zones (409, as Nova)."""

    msg_fmt = "Cannot add host to aggregate %(aggregate_id)s. Reason: %(reason)s."
    code = 409


class InvalidAggregateActionDelete(InvalidAggregateAction):
    msg_fmt = "Cannot remove aggregate %(aggregate_id)s. Reason: %(reason)s."


class InvalidAggregateActionUpdate(InvalidAggregateAction):
    msg_fmt = "Cannot update aggregate %(aggregate_id)s. Reason: %(reason)s."


class InvalidAggregateActionUpdateMeta(InvalidAggregateAction):
    msg_fmt = "Cannot update metadata of aggregate %(aggregate_id)s. Reason: %(reason)s."


# --- flavor management, services, hypervisors (conductor 1.8) --------------------------


class FlavorExtraSpecsNotFound(NotFound):
    msg_fmt = "Flavor %(flavor_id)s has no extra specs with key %(extra_specs_key)s."


class FlavorAccessExists(Conflict):
    msg_fmt = ("Flavor access already exists for flavor %(flavor_id)s and project "
               "%(project_id)s combination.")


class FlavorAccessNotFound(NotFound):
    msg_fmt = "Flavor access not found for %(flavor_id)s / %(project_id)s combination."


class ServiceHasInstances(Conflict):
    """A compute service still hosts servers, so deleting it would orphan them."""

    msg_fmt = ("Unable to delete compute service that is hosting instances. Migrate or "
               "delete the instances first.")


class HypervisorNotFound(NotFound):
    msg_fmt = "Hypervisor with ID '%(hypervisor_id)s' could not be found."


class HypervisorNotMatched(NotFound):
    msg_fmt = "No hypervisor matching '%(pattern)s' could be found."


class HypervisorUptimeNotImplemented(KumoException):
    """The node's virt driver cannot tell its host's uptime (the API answers 501)."""

    msg_fmt = "Virt driver does not implement uptime function."
    code = 501


class TooManyInstanceTags(Invalid):
    """More than the per-server limit of tags (microversion 2.26)."""

    msg_fmt = "The number of tags exceeded the per-server limit %(limit)d"


class InstanceTagNotFound(NotFound):
    msg_fmt = "Instance %(instance_id)s has no tag '%(tag)s'"


# --- images (the Compute API's image proxy, image data) ------------------------------------


class ImageNotAuthorized(Forbidden):
    """The caller may see the image but not change or delete it (Glance's owner rule)."""

    msg_fmt = "%(reason)s"


class ImageInUse(Conflict):
    """The image is being written (a snapshot in progress): it cannot be deleted yet."""

    msg_fmt = "Image %(image_id)s is in use: %(reason)s"


class ImageChecksumMismatch(KumoException):
    """Downloaded image data does not hash to what the image service recorded."""

    msg_fmt = ("Image %(image_id)s data is corrupt: %(algo)s %(actual)s is not the "
               "expected %(expected)s")


# --- remote consoles ------------------------------------------------------------------------


class ConsoleTypeInvalid(Invalid):
    """A console type the protocol asked for does not have (e.g. vnc with spice-html5)."""

    msg_fmt = "Invalid console type %(console_type)s"


class ConsoleTypeUnavailable(Invalid):
    """A console type this cloud or this guest does not offer (400, as Nova)."""

    msg_fmt = "Unavailable console type %(console_type)s."


class ConsoleNotImplemented(KumoException):
    """The server's virt driver has no console of this protocol (501, as Nova)."""

    msg_fmt = "Unable to get %(protocol)s console, functionality not implemented"
    code = 501


class ConsoleTokenNotFound(NotFound):
    """A console token that was never issued, expired, or no longer matches its guest."""

    msg_fmt = "Token not found"


# --- network ranges ---------------------------------------------------------------------------


class CidrConflict(NetworkExists):
    """A new network's fixed range overlaps another network's (409, Nova's message)."""

    msg_fmt = "Requested cidr (%(cidr)s) conflicts with existing cidr (%(other)s)"


class FloatingRangeConflict(CidrConflict):
    """A new network's fixed range holds addresses of the floating ranges."""

    msg_fmt = "Requested cidr (%(cidr)s) conflicts with existing floating IP %(address)s"
