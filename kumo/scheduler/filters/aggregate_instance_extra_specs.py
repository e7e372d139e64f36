"""AggregateInstanceExtraSpecsFilter: flavor extra specs vs the host's aggregate metadata.

Only extra specs scoped ``aggregate_instance_extra_specs:<key>`` are checked
(unscoped keys are left to other filters, unlike Nova, so a flavor's free-form
keys never make every host fail). A host passes when, for each such key, some
aggregate it is in has metadata ``<key>`` matching the spec. Values use
Nova's extra-spec operators: a plain value (string equality), ``s== v``,
``s!= v``, ``<in> v`` (substring), ``<or> a <or> b``, ``= n`` / ``>= n`` /
``<= n`` / ``== n`` / ``!= n`` (numeric; ``=`` means at least).
"""

from __future__ import annotations

from kumo.scheduler.filters import BaseHostFilter
from kumo.scheduler.host_manager import HostState
from kumo.scheduler.request import SchedulingRequest


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def spec_matches(value: str, requirement: str) -> bool:
    """Whether aggregate metadata ``value`` satisfies extra spec ``requirement``."""
    words = requirement.split()
    if not words:
        return value == requirement
    op, operand = words[0], " ".join(words[1:])
    if op == "<or>":
        return value in [part.strip() for part in requirement.split("<or>")[1:]]
    if op == "<in>":
        return operand in value
    if op == "s==":
        return value == operand
    if op == "s!=":
        return value != operand
    if op in ("=", ">=", "<=", "==", "!="):
        have, need = _number(value), _number(operand)
        if have is None or need is None:
            return False
        return {"=": have >= need, ">=": have >= need, "<=": have <= need,
                "==": have == need, "!=": have != need}[op]
    return value == requirement


class AggregateInstanceExtraSpecsFilter(BaseHostFilter):
    def applies(self, request: SchedulingRequest) -> bool:
        return bool(request.aggregate_specs)

    def host_passes(self, host: HostState, request: SchedulingRequest) -> bool:
        for key, requirement in request.aggregate_specs.items():
            values = [str(agg["metadata"][key]) for agg in host.aggregates
                      if key in (agg.get("metadata") or {})]
            if not any(spec_matches(value, requirement) for value in values):
                return False
        return True

    def explain(self, rejected: list[HostState], request: SchedulingRequest) -> str:
        wanted = ", ".join(f"{key}={value}" for key, value in sorted(
            request.aggregate_specs.items()))
        return f"(no aggregate with {wanted})"
