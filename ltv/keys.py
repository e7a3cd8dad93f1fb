"""Redis key names, built only from validated ids, one hash tag per tenant.

Every key of a tenant (a workspace, or an Enterprise Grid org) carries the tag
``{T…}`` so that multi-key scripts stay in one Redis Cluster slot.
"""

from __future__ import annotations

import hashlib
import re

from ltv.errors import InvalidIdError

TENANT_ID = re.compile(r"^[TE][A-Z0-9]{2,31}$")
USER_ID = re.compile(r"^[UWB][A-Z0-9]{2,31}$")
NAME_PART = re.compile(r"^[a-z][a-z0-9_]{0,31}$")

TENANTS_KEY = "ltv:tenants"


def check_tenant(tenant: str) -> str:
    if not isinstance(tenant, str) or not TENANT_ID.match(tenant):
        raise InvalidIdError("tenant id", tenant)
    return tenant


def check_user(user: str) -> str:
    if not isinstance(user, str) or not USER_ID.match(user):
        raise InvalidIdError("user id", user)
    return user


def check_name(name: str) -> str:
    if not isinstance(name, str) or not NAME_PART.match(name):
        raise InvalidIdError("name", name)
    return name


def digest(text: str) -> str:
    """A fixed-width stand-in for free text (order ids, message keys) in key names."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


class TenantKeys:
    """The key names of one tenant."""

    def __init__(self, tenant: str) -> None:
        self.tenant = check_tenant(tenant)
        self.prefix = f"ltv:{{{tenant}}}:"

    def customer(self, user: str) -> str:
        return f"{self.prefix}cust:{check_user(user)}"

    def customer_purchases(self, user: str) -> str:
        return f"{self.prefix}cust:{check_user(user)}:purchases"

    @property
    def events(self) -> str:
        return f"{self.prefix}events"

    @property
    def seen(self) -> str:
        return f"{self.prefix}seen"

    @property
    def purchases(self) -> str:
        return f"{self.prefix}purchases"

    @property
    def orders(self) -> str:
        return f"{self.prefix}orders"

    @property
    def totals(self) -> str:
        return f"{self.prefix}totals"

    def index(self, name: str) -> str:
        return f"{self.prefix}idx:{check_name(name)}"

    def pending(self, strategy: str) -> str:
        return f"{self.prefix}pending:{check_name(strategy)}"

    def sent(self, strategy: str) -> str:
        return f"{self.prefix}sent:{check_name(strategy)}"

    @property
    def send_log(self) -> str:
        return f"{self.prefix}sendlog"

    @property
    def config(self) -> str:
        return f"{self.prefix}config"

    @property
    def model(self) -> str:
        return f"{self.prefix}model"

    def lock(self, name: str) -> str:
        return f"{self.prefix}lock:{check_name(name)}"
