"""oslo.policy defaults in code, one module per API resource.

Each module has ``list_rules()``; add a new module to ``_MODULES``.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable

from oslo_policy import policy

from kumo.policies import aggregates as aggregates_policies
from kumo.policies import availability_zones as availability_zones_policies
from kumo.policies import base
from kumo.policies import flavors as flavors_policies
from kumo.policies import hypervisors as hypervisors_policies
from kumo.policies import instance_actions as instance_actions_policies
from kumo.policies import keypairs as keypairs_policies
from kumo.policies import limits as limits_policies
from kumo.policies import networks as networks_policies
from kumo.policies import networks_ips as networks_ips_policies
from kumo.policies import quota_class_sets as quota_class_sets_policies
from kumo.policies import quota_sets as quota_sets_policies
from kumo.policies import remote_consoles as remote_consoles_policies
from kumo.policies import server_actions as server_actions_policies
from kumo.policies import server_groups as server_groups_policies
from kumo.policies import server_password as server_password_policies
from kumo.policies import server_tags as server_tags_policies
from kumo.policies import servers as servers_policies
from kumo.policies import services as services_policies
from kumo.policies import simple_tenant_usage as usage_policies

_MODULES = [base, keypairs_policies, quota_sets_policies, quota_class_sets_policies,
            limits_policies, servers_policies, server_actions_policies, flavors_policies,
            services_policies, hypervisors_policies, usage_policies]
_MODULES += [instance_actions_policies, server_tags_policies]
_MODULES += [server_groups_policies, aggregates_policies, availability_zones_policies]

_MODULES += [networks_ips_policies, networks_policies]
_MODULES += [remote_consoles_policies]
_MODULES += [server_password_policies]

def list_rules() -> Iterable[policy.RuleDefault]:
    """Every default rule (also the ``oslo.policy.policies`` entry point)."""
    return list(itertools.chain.from_iterable(module.list_rules() for module in _MODULES))
