"""What strategies need from a chat platform: send, look back, know the user."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from ltv.errors import LtvError


class SendError(LtvError, RuntimeError):
    """A message could not be delivered; ``retryable`` says whether to try later.

    ``in_doubt`` means the request may have reached the platform: the message
    may or may not have been posted, so it must be looked up before a resend.
    """

    def __init__(
        self,
        code: str,
        *,
        retryable: bool,
        retry_after_s: float = 0.0,
        in_doubt: bool = False,
    ):
        super().__init__(f"message not sent: {code}")
        self.code = code
        self.retryable = retryable
        self.retry_after_s = retry_after_s
        self.in_doubt = in_doubt


@dataclass(frozen=True, slots=True)
class SentMessage:
    channel: str
    ts: str


@dataclass(frozen=True, slots=True)
class UserInfo:
    """What a message may use about its recipient: a first name and a time zone."""

    first_name: str = ""
    timezone: str | None = None


class Messenger(Protocol):
    def send_direct_message(
        self,
        tenant: str,
        user: str,
        *,
        text: str,
        blocks: list[dict[str, Any]] | None = None,
    ) -> SentMessage:
        """Deliver one message to the user's DM; raise SendError on failure."""
        ...

    def send_keyed(
        self,
        *,
        user: str | None,
        channel: str | None,
        text: str,
        blocks: list[dict[str, Any]],
        key: str,
    ) -> SentMessage:
        """Post to the user's DM (or a channel) carrying the idempotency key."""
        ...

    def find_keyed(
        self, *, user: str | None, channel: str | None, key: str, since_s: int
    ) -> SentMessage | None:
        """The message carrying ``key`` posted since ``since_s``, if there is one."""
        ...

    def user_info(self, user: str) -> UserInfo:
        """The user's first name and time zone, empty when they cannot be read."""
        ...
