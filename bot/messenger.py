"""The Slack side of strategies.Messenger: DMs through the Web API."""

from __future__ import annotations

import logging
import re
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler

from strategies.messenger import SendError, SentMessage, UserInfo

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
# Errors that say Slack did not act on the request, so a post may be retried.
# fatal_error, internal_error and other 5xx answers may come after the message
# was posted: retrying those could post it twice.
POST_NOT_PROCESSED_ERRORS = frozenset(
    {"ratelimited", "service_unavailable", "request_timeout"}
)
POST_NOT_PROCESSED_STATUSES = frozenset({429})
DEFAULT_TIMEOUT_S = 10
ERROR_CODE = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
KEY_BLOCK_PREFIX = "ltvkey:"
METADATA_EVENT = "ltv_strategy_message"
HISTORY_PAGE = 200
HISTORY_PAGES = 3


def build_web_client(token: str | None, base_url: str | None) -> WebClient:
    """A WebClient that honours Retry-After on 429 and retries nothing else.

    slack_sdk's default handler resends a request whose connection dropped,
    which posts a message twice when Slack received the first one; a 429
    means Slack did nothing, so only that is retried here.
    """
    return WebClient(
        token=token,
        base_url=base_url or WebClient.BASE_URL,
        timeout=DEFAULT_TIMEOUT_S,
        retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=3)],
    )


def send_error_from(exc: SlackApiError) -> SendError:
    """Slack's failure, mapped at the boundary to the strategies' own error."""
    status, code, retry_after = _failure_of(exc)
    retryable = code in RETRYABLE_ERRORS or status >= 500 or status == 429
    return SendError(code, retryable=retryable, retry_after_s=retry_after)


def post_error_from(exc: SlackApiError) -> SendError:
    """A failed chat.postMessage: retryable only when Slack surely did not post.

    After a 5xx (a gateway's 503 included), fatal_error or internal_error,
    Slack may have posted the message anyway: the error is in doubt, the claim
    is kept and resolved from the channel's history later.
    """
    status, code, retry_after = _failure_of(exc)
    if code in POST_NOT_PROCESSED_ERRORS or status in POST_NOT_PROCESSED_STATUSES:
        return SendError(code, retryable=True, retry_after_s=retry_after)
    if code in RETRYABLE_ERRORS or status >= 500:
        return SendError(code, retryable=False, in_doubt=True)
    return SendError(code, retryable=False)


def _failure_of(exc: SlackApiError) -> tuple[int, str, float]:
    status = exc.response.status_code
    body = exc.response.data if isinstance(exc.response.data, dict) else {}
    error = body.get("error")
    # slack_sdk puts the start of a non-JSON body (an HTML error page) in
    # "error"; only Slack's own snake_case codes are kept as the code.
    is_code = isinstance(error, str) and ERROR_CODE.match(error)
    code = str(error) if is_code else f"http_{status}"
    retry_after = float(exc.response.headers.get("Retry-After", 0) or 0)
    return status, code, retry_after


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
            raise post_error_from(exc) from exc
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

    def send_keyed(
        self,
        *,
        user: str | None,
        channel: str | None,
        text: str,
        blocks: list[dict[str, Any]],
        key: str,
    ) -> SentMessage:
        """Post carrying ``key`` twice: as message metadata and as a block id."""
        target = channel or self._open_dm(str(user))
        try:
            posted = self.client.chat_postMessage(
                channel=target,
                text=text,
                blocks=[*blocks, key_block(key)],
                metadata={"event_type": METADATA_EVENT, "event_payload": {"key": key}},
                unfurl_links=False,
            )
        except SlackApiError as exc:
            raise post_error_from(exc) from exc
        except (SlackClientError, OSError) as exc:
            raise SendError("delivery_unknown", retryable=False, in_doubt=True) from exc
        return SentMessage(channel=target, ts=str(posted["ts"]))

    def find_keyed(
        self, *, user: str | None, channel: str | None, key: str, since_s: int
    ) -> SentMessage | None:
        """Look for ``key`` among the conversation's latest messages.

        The search goes by count, not by ``since_s``: Slack's clock and ours
        may disagree, and a message in doubt is among the newest anyway.
        """
        target = channel or self._open_dm(str(user))
        cursor = None
        for _ in range(HISTORY_PAGES):
            page = self._history_page(target, cursor)
            for message in page.get("messages") or []:
                if message_has_key(message, key):
                    return SentMessage(channel=target, ts=str(message.get("ts")))
            cursor = (page.get("response_metadata") or {}).get("next_cursor")
            if not cursor:
                return None
        return None

    def _history_page(self, channel: str, cursor: str | None) -> Any:
        try:
            return self.client.conversations_history(
                channel=channel,
                limit=HISTORY_PAGE,
                cursor=cursor,
                include_all_metadata=True,
            )
        except SlackApiError as exc:
            raise send_error_from(exc) from exc
        except (SlackClientError, OSError) as exc:
            raise SendError("connection_error", retryable=True) from exc

    def user_info(self, user: str) -> UserInfo:
        try:
            info = self.client.users_info(user=user)
        except (SlackApiError, SlackClientError, OSError) as exc:
            logger.warning(
                "user lookup failed user=%s error=%s", user, type(exc).__name__
            )
            return UserInfo()
        member = info.get("user") or {}
        profile = member.get("profile") or {}
        name = (
            profile.get("first_name")
            or str(member.get("real_name") or "").split(" ")[0]
        )
        return UserInfo(first_name=str(name or ""), timezone=member.get("tz") or None)


def key_block(key: str) -> dict[str, Any]:
    """The footer block; its id carries the idempotency key for later look-ups."""
    return {
        "type": "context",
        "block_id": f"{KEY_BLOCK_PREFIX}{key}"[:255],
        "elements": [
            {"type": "mrkdwn", "text": "Reply *stop* to stop these messages."}
        ],
    }


def message_has_key(message: dict[str, Any], key: str) -> bool:
    payload = (message.get("metadata") or {}).get("event_payload") or {}
    if payload.get("key") == key:
        return True
    block_id = f"{KEY_BLOCK_PREFIX}{key}"[:255]
    return any(b.get("block_id") == block_id for b in message.get("blocks") or [])
