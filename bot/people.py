"""Who a command names: every form Slack may send for a person, resolved to an id.

Slack sends ``<@U123|name>`` or ``<@U123>`` (``W…`` ids on Enterprise Grid)
when the command escapes names, and the bare text ``@name`` or ``name`` when
it does not; bare names are looked up in the directory (users.list). Channels
and user groups are recognised so the answer can say what was named instead.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from dataclasses import dataclass

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

logger = logging.getLogger(__name__)

USER_MENTION = re.compile(r"^<@(?P<user>[UW][A-Z0-9]{2,31})(?:\|[^>]*)?>$")
BARE_USER_ID = re.compile(r"^(?P<user>[UW][A-Z0-9]{8,31})$")
CHANNEL_MENTION = re.compile(r"^<#[CGD][A-Z0-9]{2,31}(?:\|[^>]*)?>$|^#[\w.-]{1,80}$")
USERGROUP_MENTION = re.compile(r"^<!subteam\^[A-Z0-9]{2,31}(?:\|[^>]*)?>$")
SPECIAL_MENTION = re.compile(
    r"^<!(?:here|channel|everyone)(?:\|[^>]*)?>$|^@(here|channel|everyone)$"
)
BARE_NAME = re.compile(r"^@?(?P<name>[\w.\-']{1,80})$")
MAX_DIRECTORY_PAGES = 50


@dataclass(frozen=True, slots=True)
class PersonRef:
    """A resolved person, or the sentence explaining why none was found."""

    user: str | None = None
    problem: str | None = None


def is_person_token(token: str) -> bool:
    """True when a token looks like it names someone (so it is not a subcommand)."""
    return token.startswith(("<@", "@", "<#", "<!", "#")) or bool(
        USER_MENTION.match(token)
    )


def kind_problem(token: str) -> str | None:
    """The answer for a token that names a channel, a user group or everyone."""
    if CHANNEL_MENTION.match(token):
        return "That's a channel; name one person, for example `/ltv @casey`."
    if USERGROUP_MENTION.match(token):
        return "That's a user group; name one person, for example `/ltv @casey`."
    if SPECIAL_MENTION.match(token):
        return "That's everyone in the channel; name one person instead."
    return None


class Directory:
    """Reads Slack's member list to turn a bare name into a user id.

    The list is kept for a minute, so a burst of lookups reads it once.
    """

    def __init__(self, client: WebClient, *, cache_seconds: float = 60.0) -> None:
        self.client = client
        self.cache_seconds = cache_seconds
        self._cached: tuple[float, list[dict]] | None = None
        self._lock = threading.Lock()

    def resolve(self, token: str) -> PersonRef:
        """One token as a person; a problem sentence for anything else."""
        mention = USER_MENTION.match(token) or BARE_USER_ID.match(token)
        if mention:
            return PersonRef(user=mention["user"])
        problem = kind_problem(token)
        if problem:
            return PersonRef(problem=problem)
        bare = BARE_NAME.match(token)
        if not bare:
            shown = _escape(token[:40])
            return PersonRef(problem=f"I can't read `{shown}` as a person.")
        return self.find_by_name(bare["name"])

    def find_by_name(self, name: str) -> PersonRef:
        wanted = name.lower()
        matches = [m for m in self._members() if wanted in _names_of(m)]
        if not matches:
            return PersonRef(problem=f"I can't find anyone called `{_escape(name)}`.")
        if len(matches) > 1:
            handles = ", ".join(f"<@{m['id']}>" for m in matches[:5])
            return PersonRef(
                problem=f"Several people are called `{_escape(name)}` ({handles}); "
                "pick one from the @-mention list."
            )
        return PersonRef(user=str(matches[0]["id"]))

    def _members(self) -> list[dict]:
        with self._lock:
            cached = self._cached
        if cached and time.monotonic() - cached[0] < self.cache_seconds:
            return cached[1]
        members = self._read_members()
        if members:
            with self._lock:
                self._cached = (time.monotonic(), members)
        return members

    def _read_members(self) -> list[dict]:
        members: list[dict] = []
        cursor = None
        try:
            for _ in range(MAX_DIRECTORY_PAGES):
                page = self.client.users_list(cursor=cursor, limit=200)
                members.extend(page.get("members") or [])
                cursor = (page.get("response_metadata") or {}).get("next_cursor")
                if not cursor:
                    break
        except (SlackApiError, SlackClientError, OSError) as exc:
            logger.warning("directory lookup failed error=%s", type(exc).__name__)
        return [m for m in members if not m.get("deleted") and not m.get("is_bot")]


def _names_of(member: dict) -> set[str]:
    profile = member.get("profile") or {}
    names = {
        member.get("name"),
        member.get("real_name"),
        profile.get("display_name"),
        profile.get("real_name"),
    }
    return {str(n).lower() for n in names if n}


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
