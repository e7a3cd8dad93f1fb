"""The Slack side of strategies.Messenger: DMs through the Web API."""

from __future__ import annotations

import logging
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler

from strategies.messenger import SendError, SentMessage

logger = logging.getLogger(__name__)

# Errors after which the same message may succeed later; the rest are final.
RETRYABLE_ERRORS = frozenset(
    {
        "ratelimited",
        "service_unavailable",
        "fatal_error",
        "internal_error",
        "request_timeout",
    }
)
DEFAULT_TIMEOUT_S = 10


def build_web_client(token: str | None, base_url: str | None) -> WebClient:
    """A WebClient that honours Retry-After on 429 (twice in a row included)."""
    client = WebClient(
        token=token,
        base_url=base_url or WebClient.BASE_URL,
        timeout=DEFAULT_TIMEOUT_S,
    )
    client.retry_handlers.append(RateLimitErrorRetryHandler(max_retry_count=3))
    return client


def send_error_from(exc: SlackApiError) -> SendError:
    """Slack's failure, mapped at the boundary to the strategies' own error."""
    status = exc.response.status_code
    body = exc.response.data if isinstance(exc.response.data, dict) else {}
    code = str(body.get("error") or f"http_{status}")
    retry_after = float(exc.response.headers.get("Retry-After", 0) or 0)
    retryable = code in RETRYABLE_ERRORS or status >= 500 or status == 429
    return SendError(code, retryable=retryable, retry_after_s=retry_after)


class SlackMessenger:
    """Opens the customer's DM and posts into it."""

    def __init__(self, client: WebClient) -> None:
        self.client = client

    def send_direct_message(
        self,
        tenant: str,
        user: str,
        *,
        text: str,
        blocks: list[dict[str, Any]] | None = None,
    ) -> SentMessage:
        channel = self._open_dm(user)
        try:
            posted = self.client.chat_postMessage(
                channel=channel, text=text, blocks=blocks, unfurl_links=False
            )
        except SlackApiError as exc:
            raise send_error_from(exc) from exc
        except (SlackClientError, OSError) as exc:
            # The request may have reached Slack: retrying could post twice, and
            # a message sent twice is worse than one that needs a human retry.
            raise SendError("delivery_unknown", retryable=False) from exc
        return SentMessage(channel=channel, ts=str(posted["ts"]))

    def _open_dm(self, user: str) -> str:
        try:
            opened = self.client.conversations_open(users=user)
        except SlackApiError as exc:
            raise send_error_from(exc) from exc
        except (SlackClientError, OSError) as exc:
            raise SendError("connection_error", retryable=True) from exc
        return str(opened["channel"]["id"])
