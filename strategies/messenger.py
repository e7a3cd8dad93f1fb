"""What strategies need from a chat platform: sending a direct message."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from ltv.errors import LtvError


class SendError(LtvError, RuntimeError):
    """A message could not be delivered; ``retryable`` says whether to try later."""

    def __init__(self, code: str, *, retryable: bool, retry_after_s: float = 0.0):
        super().__init__(f"message not sent: {code}")
        self.code = code
        self.retryable = retryable
        self.retry_after_s = retry_after_s


@dataclass(frozen=True, slots=True)
class SentMessage:
    channel: str
    ts: str


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
