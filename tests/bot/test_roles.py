"""Roles from Slack: admins and owners, the agents' user group, allowlists."""

from __future__ import annotations

import pytest

from bot.emulator import SlackEmulator
from bot.messenger import build_web_client
from bot.roles import Role, RoleResolver


@pytest.fixture
def slack():
    with SlackEmulator() as emulator:
        emulator.add_user("UADMIN0001", name="ada", is_admin=True)
        emulator.add_user("UOWNER0001", name="olga", is_owner=True)
        emulator.add_user("UGROUP0001", name="gus")
        emulator.add_user("UCUST00001", name="casey")
        emulator.add_usergroup("S0SUPPORT", "support", ["UGROUP0001"])
        yield emulator


def resolver(slack: SlackEmulator) -> RoleResolver:
    return RoleResolver(
        build_web_client("xoxb-test", slack.api_url),
        admin_users=frozenset({"ULISTADMIN"}),
        agent_users=frozenset({"ULISTAGENT"}),
        agent_usergroup="S0SUPPORT",
    )


@pytest.mark.parametrize(
    ("user", "role"),
    [
        ("UADMIN0001", Role.ADMIN),
        ("UOWNER0001", Role.ADMIN),
        ("ULISTADMIN", Role.ADMIN),
        ("UGROUP0001", Role.AGENT),
        ("ULISTAGENT", Role.AGENT),
        ("UCUST00001", Role.CUSTOMER),
        ("UNOBODY001", Role.CUSTOMER),
    ],
)
def test_each_source_of_a_role_is_honoured(slack, user, role):
    assert resolver(slack).role_of("T1", user) is role


def test_roles_are_cached_so_a_burst_asks_slack_once(slack):
    roles = resolver(slack)

    for _ in range(5):
        roles.role_of("T1", "UCUST00001")

    assert len(slack.calls("users.info")) == 1
    assert len(slack.calls("usergroups.users.list")) == 1


def test_bare_names_read_the_member_list_once_a_minute(slack):
    roles = resolver(slack)

    first = roles.directory.resolve("@casey")
    second = roles.directory.resolve("gus")

    assert (first.user, second.user) == ("UCUST00001", "UGROUP0001")
    assert len(slack.calls("users.list")) == 1
