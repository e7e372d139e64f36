"""JSON-schema validation of request bodies, with the Compute API's 400 messages."""

from __future__ import annotations

import base64
import binascii
from typing import Any

import jsonschema
from oslo_utils import uuidutils

from kumo import exception

_FORMATS = jsonschema.Draft4Validator.FORMAT_CHECKER.__class__()


class ValidationError(exception.Invalid):
    msg_fmt = "%(detail)s"


@_FORMATS.checks("uuid")
def _is_uuid(instance: object) -> bool:
    return not isinstance(instance, str) or uuidutils.is_uuid_like(instance)


@_FORMATS.checks("base64")
def _is_base64(instance: object) -> bool:
    if not isinstance(instance, str):
        return True
    try:
        base64.b64decode(instance, validate=True)
    except (binascii.Error, ValueError):
        return False
    return True


@_FORMATS.checks("name", raises=ValidationError)
def _is_name(instance: object) -> bool:
    # Nova's rule: printable, and no whitespace at either end.
    if isinstance(instance, str) and (
            instance != instance.strip() or not instance.isprintable()):
        raise ValidationError(detail=(
            "An invalid 'name' value was provided. The name must be: printable "
            "characters. Can not start or end with whitespace."))
    return True


# Reused pieces of schemas (Nova's parameter_types).
NAME = {"type": "string", "minLength": 1, "maxLength": 255, "format": "name"}
BOOLEAN = {"type": ["boolean", "string"],
           "enum": [True, "True", "TRUE", "true", "1", "ON", "On", "on", "YES", "Yes",
                    "yes", False, "False", "FALSE", "false", "0", "OFF", "Off", "off",
                    "NO", "No", "no"]}
POSITIVE_INTEGER = {"type": ["integer", "string"], "pattern": "^[0-9]*$", "minimum": 1,
                    "minLength": 1}
METADATA = {
    "type": "object",
    "patternProperties": {
        "^[a-zA-Z0-9-_:. ]{1,255}$": {"type": "string", "maxLength": 255},
    },
    "additionalProperties": False,
}
ACCESS_IPV4 = {"type": "string", "format": "ipv4"}
ACCESS_IPV6 = {"type": "string", "format": "ipv6"}


def validate(schema: dict[str, Any], body: Any) -> None:
    """Raise :class:`ValidationError` (400) unless ``body`` matches ``schema``.

    The message names the offending attribute as Nova's does:
    ``Invalid input for field/attribute <name>. Value: <value>. <reason>``.
    """
    validator = jsonschema.Draft4Validator(schema, format_checker=_FORMATS)
    try:
        validator.validate(body)
    except jsonschema.ValidationError as ex:
        if isinstance(ex.cause, ValidationError):
            raise ex.cause from None
        if len(ex.path) > 0:
            detail = (f"Invalid input for field/attribute {ex.path.pop()}. "
                      f"Value: {ex.instance}. {ex.message}")
        else:
            detail = ex.message
        raise ValidationError(detail=detail) from None
