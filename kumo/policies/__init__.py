"""oslo.policy defaults in code, one module per API resource.

Each module has ``list_rules()``; add a new module to ``_MODULES``.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable

from oslo_policy import policy

from kumo.policies import base

_MODULES = [base]


def list_rules() -> Iterable[policy.RuleDefault]:
    """Every default rule (also the ``oslo.policy.policies`` entry point)."""
    return list(itertools.chain.from_iterable(module.list_rules() for module in _MODULES))
