"""What a person may do, from the groups or roles claim of their identity provider."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from enum import StrEnum
from typing import Any


class Role(StrEnum):
    agent = "agent"  # the desk
    team_lead = "team_lead"  # the desk
    analyst = "analyst"  # the portfolio report, the strategy report
    admin = "admin"  # everything


DESK = frozenset({Role.agent, Role.team_lead, Role.admin})
ANALYSIS = frozenset({Role.analyst, Role.admin})


def claimed(claims: Mapping[str, Any], claim: str) -> list[str]:
    """The values of `claim` (a list, or one string), found by a dotted path for providers
    that nest them (Keycloak's `realm_access.roles`)."""
    value: Any = claims
    for part in claim.split("."):
        if not isinstance(value, Mapping):
            return []
        value = value.get(part)
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [item for item in value if isinstance(item, str)]
    return []


def mapped(values: Iterable[str], mapping: Mapping[str, Role]) -> frozenset[Role]:
    """The roles the mapping gives to the provider's groups or roles; unmapped ones give none."""
    return frozenset(mapping[value] for value in values if value in mapping)
