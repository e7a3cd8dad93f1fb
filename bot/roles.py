"""Who may see what: admins, agents and customers, looked up and cached briefly."""

from __future__ import annotations

import logging
import threading
import time
from enum import StrEnum

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from bot.people import Directory

logger = logging.getLogger(__name__)

ROLE_CACHE_SECONDS = 60.0


class Role(StrEnum):
    ADMIN = "admin"
    AGENT = "agent"
    CUSTOMER = "customer"

    @property
    def sees_customer_data(self) -> bool:
        return self in (Role.ADMIN, Role.AGENT)


class RoleResolver:
    """Admins: workspace admins and owners plus an allowlist. Agents: an allowlist
    and the members of a user group. Everyone else is a customer."""

    def __init__(
        self,
        client: WebClient,
        *,
        admin_users: frozenset[str] = frozenset(),
        agent_users: frozenset[str] = frozenset(),
        agent_usergroup: str | None = None,
    ) -> None:
        self.client = client
        self.directory = Directory(client)
        self.admin_users = admin_users
        self.agent_users = agent_users
        self.agent_usergroup = agent_usergroup
        self._cache: dict[tuple[str, str], tuple[float, Role]] = {}
        self._lock = threading.Lock()

    def role_of(self, tenant: str, user: str) -> Role:
        key = (tenant, user)
        with self._lock:
            cached = self._cache.get(key)
        if cached and time.monotonic() - cached[0] < ROLE_CACHE_SECONDS:
            return cached[1]
        role = self._look_up(user)
        with self._lock:
            self._cache[key] = (time.monotonic(), role)
        return role

    def _look_up(self, user: str) -> Role:
        if user in self.admin_users or self._is_workspace_admin(user):
            return Role.ADMIN
        if user in self.agent_users or user in self._usergroup_members():
            return Role.AGENT
        return Role.CUSTOMER

    def _is_workspace_admin(self, user: str) -> bool:
        try:
            info = self.client.users_info(user=user)
        except (SlackApiError, SlackClientError, OSError) as exc:
            logger.warning(
                "role lookup failed user=%s error=%s", user, type(exc).__name__
            )
            return False
        profile = info.get("user") or {}
        return bool(profile.get("is_admin") or profile.get("is_owner"))

    def _usergroup_members(self) -> frozenset[str]:
        if not self.agent_usergroup:
            return frozenset()
        try:
            members = self.client.usergroups_users_list(usergroup=self.agent_usergroup)
        except (SlackApiError, SlackClientError, OSError) as exc:
            logger.warning("user group lookup failed error=%s", type(exc).__name__)
            return frozenset()
        return frozenset(members.get("users") or [])
