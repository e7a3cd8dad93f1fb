"""Local Slack Web API emulator, so the bot, its tests and its demo run offline.

Point slack_sdk at it with ``WebClient(token=..., base_url=emulator.api_url)``.
Responses follow the shapes of Slack's Web API (ok/error with HTTP 200, 429 with
Retry-After, gateway errors as HTML). Besides ``/api/<method>`` it serves a few
``/_emulator/...`` routes for tests and demos: the call log, seeding users,
injecting faults, the latest App Home view, a sink for ``response_url`` posts and
the upload URLs handed out by ``files.getUploadURLExternal``.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import copy
import hmac
import ipaddress
import itertools
import json
import logging
import mimetypes
import re
import sys
import threading
import time
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from ltv.errors import LtvError

__all__ = [
    "EmulatorConfigError",
    "EmulatorError",
    "EmulatorHostError",
    "EmulatorStateError",
    "SlackEmulator",
    "main",
]

logger = logging.getLogger(__name__)

JSON_CONTENT_TYPE = "application/json; charset=utf-8"
# What an app installed from manifest.yml is granted, so `ltv-bot doctor`
# passes against the emulator as it would against a correct install.
DEFAULT_SCOPES = (
    "app_mentions:read",
    "channels:history",
    "channels:read",
    "chat:write",
    "commands",
    "files:write",
    "groups:history",
    "groups:read",
    "im:history",
    "im:write",
    "mpim:history",
    "reactions:read",
    "reactions:write",
    "usergroups:read",
    "users:read",
    "users:read.email",
)
WORKSPACE_URL = "https://ltv-emulator.example.invalid/"
MAX_TEXT_CHARS = 40_000
MAX_BLOCKS = 50
FIRST_TS_SECONDS = 1_700_000_000
TS_STEP_MICROS = 100
DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000
POLL_INTERVAL_SECONDS = 0.01
DEFAULT_RETRY_AFTER_SECONDS = 1
JSON_ENCODED_ARGS = frozenset(
    {"attachments", "blocks", "files", "metadata", "outputs", "unfurls", "view"}
)
USER_ID_PATTERN = re.compile(r"^[UW][A-Z0-9]+$")
CHANNEL_ID_PATTERN = re.compile(r"^[CGD][A-Z0-9]+$")
DEFAULT_VIEW_TITLE = {"type": "plain_text", "text": "View Title", "emoji": True}


class EmulatorError(LtvError):
    """Base of the errors the Slack emulator raises to the code driving it."""


class EmulatorHostError(EmulatorError, ValueError):
    """A host to listen on that is not an IPv4 loopback address."""

    def __init__(self, host: str):
        super().__init__(
            f"refusing to listen on host {host!r}: the Slack emulator binds only "
            "IPv4 loopback addresses such as 127.0.0.1 or localhost"
        )
        self.host = host


class EmulatorConfigError(EmulatorError, ValueError):
    """A setting given to the emulator (a fault, a user) that it cannot use."""

    def __init__(self, key: str, value: object, expected: str):
        super().__init__(f"{key}={value!r} is not valid: expected {expected}")
        self.key = key
        self.value = value
        self.expected = expected


class EmulatorStateError(EmulatorError, RuntimeError):
    """An operation that needs the emulator to be listening, before start()."""


class _MethodError(LtvError):
    """A Slack method's own error, answered as ``{"ok": false, "error": ...}``."""

    def __init__(self, error: str, *messages: str):
        super().__init__(error)
        self.error = error
        self.messages = messages

    def payload(self) -> dict[str, Any]:
        body: dict[str, Any] = {"ok": False, "error": self.error}
        if self.messages:
            body["response_metadata"] = {"messages": list(self.messages)}
        return body


@dataclass(frozen=True)
class _Identity:
    """Who the emulated token belongs to: workspace, bot user and app."""

    team_id: str
    user_id: str
    bot_id: str
    app_id: str
    enterprise_id: str | None
    team_name: str = "LTV Emulator"
    user_name: str = "ltv_bot"
    real_name: str = "LTV Bot"


@dataclass
class _User:
    """One member of the emulated workspace directory."""

    id: str
    name: str
    real_name: str
    tz: str
    tz_offset: int
    is_admin: bool
    is_owner: bool
    is_bot: bool
    deleted: bool
    email: str | None
    team_id: str
    updated: int
    bot_id: str | None = None
    app_id: str | None = None


@dataclass
class _Channel:
    """A conversation: registered, implied by its id, or an opened DM."""

    id: str
    name: str
    created: int
    is_private: bool = False
    is_archived: bool = False
    is_member: bool = True
    members: tuple[str, ...] | None = None
    im_user: str | None = None


@dataclass
class _Fault:
    """How the next calls of one method fail, and how many are left."""

    error: str | None
    http_status: int
    retry_after: int | None
    remaining: int
    delay_seconds: float

    @property
    def is_failure(self) -> bool:
        return self.error is not None or self.http_status != HTTPStatus.OK


@dataclass
class _Request:
    """An HTTP request as the handler read it, headers keyed in lower case."""

    verb: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes


@dataclass
class _Reply:
    """An HTTP answer, with the ok/error it reports for the call log."""

    status: int
    body: bytes
    content_type: str = JSON_CONTENT_TYPE
    headers: dict[str, str] = field(default_factory=dict)
    ok: bool = True
    error: str | None = None


def _json_reply(
    payload: Any, status: int = 200, headers: dict[str, str] | None = None
) -> _Reply:
    is_dict = isinstance(payload, dict)
    return _Reply(
        status=status,
        body=json.dumps(payload).encode("utf-8"),
        headers=dict(headers or {}),
        ok=bool(payload.get("ok", True)) if is_dict else True,
        error=payload.get("error") if is_dict else None,
    )


def _gateway_error_reply(status: int, headers: dict[str, str]) -> _Reply:
    phrase = HTTPStatus(status).phrase
    page = (
        f"<html><head><title>{status} {phrase}</title></head>"
        f"<body><h1>{status} {phrase}</h1></body></html>\n"
    )
    return _Reply(
        status=status,
        body=page.encode("utf-8"),
        content_type="text/html; charset=utf-8",
        headers=headers,
        ok=False,
        error=phrase.lower().replace(" ", "_"),
    )


def _fault_reply(fault: _Fault) -> _Reply:
    status = fault.http_status
    headers = {}
    if fault.retry_after is not None or status == HTTPStatus.TOO_MANY_REQUESTS:
        retry_after = fault.retry_after
        if retry_after is None:
            retry_after = DEFAULT_RETRY_AFTER_SECONDS
        headers["Retry-After"] = str(retry_after)
    if status >= HTTPStatus.INTERNAL_SERVER_ERROR:
        return _gateway_error_reply(status, headers)

    error = fault.error
    if error is None and status == HTTPStatus.TOO_MANY_REQUESTS:
        error = "ratelimited"
    if error is None:
        error = HTTPStatus(status).phrase.lower().replace(" ", "_")
    return _json_reply({"ok": False, "error": error}, status, headers)


def _is_http_status(value: object) -> bool:
    if not isinstance(value, int) or not 200 <= value <= 599:
        return False
    try:
        HTTPStatus(value)
    except ValueError:
        return False
    return True


def _is_truthy(value: object) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in {"1", "true", "yes"}
    return bool(value)


def _decode_json_arg(key: str, value: Any) -> Any:
    if key not in JSON_ENCODED_ARGS or not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


def _parse_args(request: _Request) -> dict[str, Any]:
    """Merge query, form and JSON arguments, decoding JSON-string fields."""
    args: dict[str, Any] = dict(parse_qsl(request.query, keep_blank_values=True))
    content_type = request.headers.get("content-type", "").lower()
    if content_type.startswith("application/json"):
        try:
            body = json.loads(request.body or b"{}")
        except ValueError as err:
            raise _MethodError("invalid_json") from err
        if not isinstance(body, dict):
            raise _MethodError("invalid_json")
        args.update(body)
    elif request.body and not content_type.startswith("multipart/"):
        form = request.body.decode("utf-8", errors="replace")
        args.update(parse_qsl(form, keep_blank_values=True))
    return {key: _decode_json_arg(key, value) for key, value in args.items()}


def _bearer_token(headers: dict[str, str]) -> str | None:
    scheme, _, credentials = headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not credentials.strip():
        return None
    return credentials.strip()


def _encode_cursor(prefix: str, key: str) -> str:
    return base64.b64encode(f"{prefix}:{key}".encode()).decode("ascii")


def _decode_cursor(prefix: str, cursor: str) -> str:
    try:
        text = base64.b64decode(cursor.encode("ascii"), validate=True).decode()
    except (binascii.Error, UnicodeError) as err:
        raise _MethodError("invalid_cursor") from err
    found_prefix, _, key = text.partition(":")
    if found_prefix != prefix or not key:
        raise _MethodError("invalid_cursor")
    return key


def _page_limit(args: dict[str, Any]) -> int:
    raw = args.get("limit") or DEFAULT_PAGE_SIZE
    try:
        limit = int(raw)
    except (TypeError, ValueError) as err:
        raise _MethodError("invalid_limit") from err
    if limit < 0:
        raise _MethodError("invalid_limit")
    return min(limit or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)


def _paginate(
    items: list[dict[str, Any]], args: dict[str, Any], *, prefix: str, key: str
) -> tuple[list[dict[str, Any]], str]:
    """One page of ``items`` and the cursor of the next page ("" at the end)."""
    limit = _page_limit(args)
    start = 0
    if args.get("cursor"):
        wanted = _decode_cursor(prefix, str(args["cursor"]))
        keys = [item[key] for item in items]
        if wanted not in keys:
            raise _MethodError("invalid_cursor")
        start = keys.index(wanted)

    page = items[start : start + limit]
    if start + limit >= len(items):
        return page, ""
    return page, _encode_cursor(prefix, items[start + limit][key])


def _ts_bound(args: dict[str, Any], key: str, default: float) -> float:
    raw = args.get(key)
    if raw in (None, ""):
        return default
    try:
        return float(raw)
    except (TypeError, ValueError) as err:
        raise _MethodError(f"invalid_ts_{key}") from err


def _ts_window(args: dict[str, Any]) -> Callable[[str], bool]:
    """Whether a ts falls between ``oldest`` and ``latest`` as history reads them."""
    oldest = _ts_bound(args, "oldest", 0.0)
    latest = _ts_bound(args, "latest", float("inf"))
    if _is_truthy(args.get("inclusive")):
        return lambda ts: oldest <= float(ts) <= latest
    return lambda ts: oldest < float(ts) < latest


def _tz_label(tz: str, tz_offset: int) -> str:
    if tz == "UTC" and tz_offset == 0:
        return "Coordinated Universal Time"
    sign = "+" if tz_offset >= 0 else "-"
    hours, minutes = divmod(abs(tz_offset) // 60, 60)
    return f"{tz} (UTC{sign}{hours:02d}:{minutes:02d})"


def _image_urls(user_id: str, sizes: Sequence[int]) -> dict[str, str]:
    base = f"https://example.invalid/avatars/{user_id.lower()}"
    return {f"image_{size}": f"{base}_{size}.png" for size in sizes}


def _split_name(user: _User) -> dict[str, str]:
    if user.is_bot:
        return {"first_name": user.real_name, "last_name": ""}
    first_name, _, last_name = user.real_name.partition(" ")
    return {"first_name": first_name, "last_name": last_name}


def _profile_head(user: _User) -> dict[str, Any]:
    display_name = "" if user.is_bot else user.name
    return {
        "title": "",
        "phone": "",
        "skype": "",
        "real_name": user.real_name,
        "real_name_normalized": user.real_name,
        "display_name": display_name,
        "display_name_normalized": display_name,
        "fields": None,
        "status_text": "",
        "status_emoji": "",
    }


def _render_profile(user: _User) -> dict[str, Any]:
    """The ``profile`` object, with the field set Slack uses per kind of user."""
    is_full = not user.deleted and not user.is_bot
    profile = _profile_head(user)
    if is_full:
        profile["status_emoji_display_info"] = []
    profile["status_expiration"] = 0
    profile["avatar_hash"] = f"g{zlib.crc32(user.id.encode()):010x}"
    if user.bot_id is not None:
        profile.update(api_app_id=user.app_id, always_active=False, bot_id=user.bot_id)
    if user.email is not None:
        profile["email"] = user.email
    profile.update(_split_name(user))
    sizes = (24, 32, 48, 72, 192, 512) if is_full else (24, 72)
    profile.update(_image_urls(user.id, sizes))
    if is_full:
        profile["status_text_canonical"] = ""
    profile["team"] = user.team_id
    return profile


def _render_user(user: _User) -> dict[str, Any]:
    """The ``user`` object of users.info; deactivated accounts carry fewer fields."""
    head = {"id": user.id, "team_id": user.team_id, "name": user.name}
    if user.deleted:
        return {
            **head,
            "deleted": True,
            "profile": _render_profile(user),
            "is_bot": user.is_bot,
            "is_app_user": False,
            "updated": user.updated,
        }
    return {
        **head,
        "deleted": False,
        "color": f"{zlib.crc32(user.id.encode()) & 0xFFFFFF:06x}",
        "real_name": user.real_name,
        "tz": user.tz,
        "tz_label": _tz_label(user.tz, user.tz_offset),
        "tz_offset": user.tz_offset,
        "profile": _render_profile(user),
        "is_admin": user.is_admin,
        "is_owner": user.is_owner,
        "is_primary_owner": False,
        "is_restricted": False,
        "is_ultra_restricted": False,
        "is_bot": user.is_bot,
        "is_app_user": False,
        "updated": user.updated,
        "is_email_confirmed": user.email is not None,
        "who_can_share_contact_card": "EVERYONE",
    }


def _render_channel(channel: _Channel) -> dict[str, Any]:
    if channel.im_user is not None:
        return {
            "id": channel.id,
            "created": channel.created,
            "is_im": True,
            "is_org_shared": False,
            "user": channel.im_user,
            "last_read": "0000000000.000000",
            "latest": None,
            "unread_count": 0,
            "unread_count_display": 0,
            "is_open": True,
            "priority": 0,
        }
    return {
        "id": channel.id,
        "name": channel.name,
        "is_channel": not channel.is_private,
        "is_group": channel.is_private,
        "is_im": False,
        "is_mpim": channel.id.startswith("G") and not channel.is_private,
        "is_private": channel.is_private,
        "created": channel.created,
        "is_archived": channel.is_archived,
        "is_general": False,
        "is_member": channel.is_member,
        "is_org_shared": False,
        "is_shared": False,
    }


def _check_blocks(blocks: object) -> None:
    if not isinstance(blocks, list):
        raise _MethodError(
            "invalid_blocks", "[ERROR] must provide an array [json-pointer:/blocks]"
        )
    if not all(isinstance(block, dict) and block.get("type") for block in blocks):
        raise _MethodError("invalid_blocks", "[ERROR] missing required field: type")
    if len(blocks) > MAX_BLOCKS:
        raise _MethodError(
            "invalid_blocks",
            f"[ERROR] no more than {MAX_BLOCKS} items allowed [json-pointer:/blocks]",
        )


def _message_content(args: dict[str, Any]) -> dict[str, Any]:
    """Text, blocks and attachments of a message, checked as Slack checks them."""
    text = args.get("text") or ""
    blocks = args.get("blocks")
    attachments = args.get("attachments")
    if not text and not blocks and not attachments:
        raise _MethodError("no_text")
    if blocks is not None:
        _check_blocks(blocks)
    if len(text) > MAX_TEXT_CHARS:
        raise _MethodError("msg_too_long")

    content: dict[str, Any] = {"text": text}
    if blocks is not None:
        content["blocks"] = blocks
    if attachments:
        content["attachments"] = attachments
    return content


def _require_view(args: dict[str, Any]) -> dict[str, Any]:
    view = args.get("view")
    if view is None:
        raise _MethodError("invalid_arguments", "[ERROR] missing required field: view")
    if not isinstance(view, dict):
        raise _MethodError(
            "invalid_arguments",
            "[ERROR] failed to match all allowed schemas [json-pointer:/view]",
        )
    if not isinstance(view.get("blocks", []), list):
        raise _MethodError(
            "invalid_arguments",
            "[ERROR] must provide an array [json-pointer:/view/blocks]",
        )
    return view


class _Workspace:
    """The emulated workspace and the Slack methods that read and change it.

    Every method runs under one re-entrant lock, so concurrent calls see a
    consistent workspace and get unique, increasing timestamps.
    """

    def __init__(self, identity: _Identity, scopes: Sequence[str]):
        self.identity = identity
        self.scopes = tuple(scopes)
        self.lock = threading.RLock()
        self.base_url = ""
        self._ids = itertools.count(1)
        self._ts_counter = itertools.count(1)
        self._users: dict[str, _User] = {}
        self._usergroups: dict[str, dict[str, Any]] = {}
        self._channels: dict[str, _Channel] = {}
        self._messages: dict[str, list[dict[str, Any]]] = {}
        self._views: dict[str, dict[str, Any]] = {}
        self._home_views: dict[str, str] = {}
        self._files: dict[str, dict[str, Any]] = {}
        self._handlers = self.methods()
        self._add_bot_user()

    # Lifecycle and identifiers

    def _add_bot_user(self) -> None:
        identity = self.identity
        self._users[identity.user_id] = _User(
            id=identity.user_id,
            name=identity.user_name,
            real_name=identity.real_name,
            tz="UTC",
            tz_offset=0,
            is_admin=False,
            is_owner=False,
            is_bot=True,
            deleted=False,
            email=None,
            team_id=identity.team_id,
            updated=FIRST_TS_SECONDS,
            bot_id=identity.bot_id,
            app_id=identity.app_id,
        )

    def next_ts(self) -> str:
        micros = next(self._ts_counter) * TS_STEP_MICROS
        seconds, fraction = divmod(micros, 1_000_000)
        return f"{FIRST_TS_SECONDS + seconds}.{fraction:06d}"

    def next_id(self, prefix: str) -> str:
        return f"{prefix}{next(self._ids):09d}"

    def methods(self) -> dict[str, Callable[[dict[str, Any]], dict[str, Any]]]:
        return {
            "auth.test": self.auth_test,
            "chat.postMessage": self.chat_post_message,
            "chat.postEphemeral": self.chat_post_ephemeral,
            "chat.update": self.chat_update,
            "chat.delete": self.chat_delete,
            "conversations.open": self.conversations_open,
            "conversations.history": self.conversations_history,
            "conversations.replies": self.conversations_replies,
            "conversations.info": self.conversations_info,
            "users.info": self.users_info,
            "users.list": self.users_list,
            "users.lookupByEmail": self.users_lookup_by_email,
            "usergroups.list": self.usergroups_list,
            "usergroups.users.list": self.usergroups_users_list,
            "views.publish": self.views_publish,
            "views.open": self.views_open,
            "views.push": self.views_push,
            "views.update": self.views_update,
            "files.getUploadURLExternal": self.files_get_upload_url_external,
            "files.completeUploadExternal": self.files_complete_upload_external,
            "reactions.add": self.reactions_add,
        }

    def call(self, method: str, args: dict[str, Any]) -> dict[str, Any]:
        handler = self._handlers.get(method)
        if handler is None:
            return {"ok": False, "error": "unknown_method", "req_method": method}
        try:
            with self.lock:
                return {"ok": True, **handler(args)}
        except _MethodError as err:
            return err.payload()

    # Directory

    def add_user(self, user: _User) -> dict[str, Any]:
        if not USER_ID_PATTERN.match(user.id):
            raise EmulatorConfigError(
                "user_id", user.id, "an id like U0123ABC or W0123ABC"
            )
        with self.lock:
            self._users[user.id] = user
            return _render_user(user)

    def add_channel(self, channel: _Channel) -> dict[str, Any]:
        if not channel.id.strip():
            raise EmulatorConfigError(
                "channel_id", channel.id, "a non-empty channel id"
            )
        with self.lock:
            self._channels[channel.id] = channel
            self._messages.setdefault(channel.id, [])
            return _render_channel(channel)

    def add_usergroup(
        self, usergroup_id: str, handle: str, user_ids: Sequence[str]
    ) -> None:
        with self.lock:
            self._usergroups[usergroup_id] = {
                "id": usergroup_id,
                "team_id": self.identity.team_id,
                "is_usergroup": True,
                "name": handle,
                "handle": handle,
                "description": "",
                "date_create": FIRST_TS_SECONDS,
                "date_delete": 0,
                "user_count": len(user_ids),
                "users": list(user_ids),
            }

    def home_view(self, user_id: str) -> dict[str, Any] | None:
        with self.lock:
            view_id = self._home_views.get(user_id)
            return copy.deepcopy(self._views[view_id]) if view_id else None

    def uploaded_files(self) -> list[dict[str, Any]]:
        with self.lock:
            return [copy.deepcopy(f) for f in self._files.values()]

    def store_upload(self, file_id: str, content: bytes) -> bool:
        with self.lock:
            record = self._files.get(file_id)
            if record is None:
                return False
            record["content"] = content
            return True

    # auth.test

    def auth_test(self, args: dict[str, Any]) -> dict[str, Any]:
        identity = self.identity
        body: dict[str, Any] = {
            "url": WORKSPACE_URL,
            "team": identity.team_name,
            "user": identity.user_name,
            "team_id": identity.team_id,
            "user_id": identity.user_id,
            "bot_id": identity.bot_id,
        }
        if identity.enterprise_id is not None:
            body["enterprise_id"] = identity.enterprise_id
        body["is_enterprise_install"] = False
        return body

    # Conversations

    def _find_channel(self, channel_id: str) -> _Channel | None:
        channel = self._channels.get(channel_id)
        if channel is None and CHANNEL_ID_PATTERN.match(channel_id):
            channel = _Channel(
                id=channel_id, name=channel_id.lower(), created=FIRST_TS_SECONDS
            )
            self._channels[channel_id] = channel
            self._messages.setdefault(channel_id, [])
        return channel

    def _require_channel(self, args: dict[str, Any]) -> _Channel:
        channel = self._find_channel(str(args.get("channel") or ""))
        if channel is None:
            raise _MethodError("channel_not_found")
        return channel

    def _open_im(self, user_id: str) -> tuple[_Channel, bool]:
        channel_id = "D" + (user_id[1:] if user_id.startswith("U") else user_id)
        channel = self._channels.get(channel_id)
        if channel is not None and channel.im_user == user_id:
            return channel, True
        channel = _Channel(
            id=channel_id,
            name=channel_id.lower(),
            created=int(time.time()),
            im_user=user_id,
        )
        self._channels[channel_id] = channel
        self._messages.setdefault(channel_id, [])
        return channel, False

    def _open_mpim(self, user_ids: list[str]) -> tuple[_Channel, bool]:
        name = "mpdm-" + "--".join(sorted(user_ids))
        for channel in self._channels.values():
            if channel.name == name:
                return channel, True
        channel = _Channel(
            id=self.next_id("G"),
            name=name,
            created=int(time.time()),
            members=tuple(user_ids),
        )
        self._channels[channel.id] = channel
        self._messages.setdefault(channel.id, [])
        return channel, False

    def _postable_channel(self, args: dict[str, Any]) -> _Channel:
        """The channel a message goes to: a user id means their DM."""
        channel_id = str(args.get("channel") or "").strip()
        if not channel_id:
            raise _MethodError("channel_not_found")
        if USER_ID_PATTERN.match(channel_id):
            return self._open_im(channel_id)[0]
        channel = self._find_channel(channel_id)
        if channel is None:
            channel = _Channel(
                id=channel_id, name=channel_id.lstrip("#"), created=FIRST_TS_SECONDS
            )
            self.add_channel(channel)
        if channel.is_archived:
            raise _MethodError("is_archived")
        if not channel.is_member:
            raise _MethodError("not_in_channel")
        return channel

    def conversations_open(self, args: dict[str, Any]) -> dict[str, Any]:
        user_ids = [
            u.strip() for u in str(args.get("users") or "").split(",") if u.strip()
        ]
        if not user_ids and args.get("channel"):
            return {"channel": _render_channel(self._require_channel(args))}
        if not user_ids:
            raise _MethodError("users_list_not_supplied")
        if not all(USER_ID_PATTERN.match(u) for u in user_ids):
            raise _MethodError("user_not_found")

        if len(user_ids) == 1:
            channel, already_open = self._open_im(user_ids[0])
        else:
            channel, already_open = self._open_mpim(user_ids)

        rendered = {"id": channel.id}
        if _is_truthy(args.get("return_im")):
            rendered = _render_channel(channel)
        if already_open:
            return {"no_op": True, "already_open": True, "channel": rendered}
        return {"channel": rendered}

    def conversations_info(self, args: dict[str, Any]) -> dict[str, Any]:
        return {"channel": _render_channel(self._require_channel(args))}

    def conversations_history(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._require_channel(args)
        is_in_window = _ts_window(args)
        messages = [
            m
            for m in reversed(self._messages[channel.id])
            if m.get("thread_ts", m["ts"]) == m["ts"] and is_in_window(m["ts"])
        ]

        page, next_cursor = _paginate(messages, args, prefix="next_ts", key="ts")
        return {
            "messages": copy.deepcopy(page),
            "has_more": bool(next_cursor),
            "pin_count": 0,
            "channel_actions_ts": None,
            "channel_actions_count": 0,
            "response_metadata": {"next_cursor": next_cursor},
        }

    def conversations_replies(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._require_channel(args)
        thread_ts = str(args.get("ts") or "")
        thread = [
            m
            for m in self._messages[channel.id]
            if m["ts"] == thread_ts or m.get("thread_ts") == thread_ts
        ]
        if not thread:
            raise _MethodError("thread_not_found")
        page, next_cursor = _paginate(thread, args, prefix="next_ts", key="ts")
        return {
            "messages": copy.deepcopy(page),
            "has_more": bool(next_cursor),
            "response_metadata": {"next_cursor": next_cursor},
        }

    # Messages

    def _find_message(self, channel_id: str, ts: str) -> dict[str, Any]:
        for message in self._messages.get(channel_id, []):
            if message["ts"] == ts:
                return message
        raise _MethodError("message_not_found")

    def _bot_profile(self) -> dict[str, Any]:
        identity = self.identity
        return {
            "id": identity.bot_id,
            "deleted": False,
            "name": identity.real_name,
            "updated": FIRST_TS_SECONDS,
            "app_id": identity.app_id,
            "icons": {
                f"image_{size}": f"https://example.invalid/icons/bot_{size}.png"
                for size in (36, 48, 72)
            },
            "team_id": identity.team_id,
        }

    def _bot_message(self, ts: str, content: dict[str, Any]) -> dict[str, Any]:
        identity = self.identity
        message = {
            "user": identity.user_id,
            "type": "message",
            "ts": ts,
            "bot_id": identity.bot_id,
            "app_id": identity.app_id,
            "text": content.get("text", ""),
            "team": identity.team_id,
            "bot_profile": self._bot_profile(),
        }
        message.update({k: v for k, v in content.items() if k != "text"})
        return message

    def _store_message(self, channel_id: str, message: dict[str, Any]) -> None:
        thread_ts = message.get("thread_ts")
        self._messages.setdefault(channel_id, []).append(message)
        if not thread_ts:
            return
        for parent in self._messages[channel_id]:
            if parent["ts"] == thread_ts and parent is not message:
                parent["thread_ts"] = thread_ts
                parent["reply_count"] = parent.get("reply_count", 0) + 1
                parent["latest_reply"] = message["ts"]
                users = parent.setdefault("reply_users", [])
                if message["user"] not in users:
                    users.append(message["user"])

    def chat_post_message(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._postable_channel(args)
        content = _message_content(args)
        if args.get("thread_ts"):
            content["thread_ts"] = str(args["thread_ts"])

        ts = self.next_ts()
        message = self._bot_message(ts, content)
        self._store_message(channel.id, message)
        return {"channel": channel.id, "ts": ts, "message": copy.deepcopy(message)}

    def chat_post_ephemeral(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._postable_channel(args)
        user_id = str(args.get("user") or "")
        if not user_id:
            raise _MethodError("user_not_in_channel")
        if channel.members is not None and user_id not in channel.members:
            raise _MethodError("user_not_in_channel")
        _message_content(args)
        return {"message_ts": self.next_ts()}

    def chat_update(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._require_channel(args)
        message = self._find_message(channel.id, str(args.get("ts") or ""))
        content = _message_content(args)

        message.update(content)
        message["edited"] = {"user": self.identity.user_id, "ts": self.next_ts()}
        return {
            "channel": channel.id,
            "ts": message["ts"],
            "text": message["text"],
            "message": copy.deepcopy(message),
        }

    def chat_delete(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._require_channel(args)
        message = self._find_message(channel.id, str(args.get("ts") or ""))

        self._messages[channel.id].remove(message)
        return {"channel": channel.id, "ts": message["ts"]}

    def reactions_add(self, args: dict[str, Any]) -> dict[str, Any]:
        if not args.get("channel") or not args.get("timestamp"):
            raise _MethodError("no_item_specified")
        name = str(args.get("name") or "").strip(":")
        if not name:
            raise _MethodError("invalid_name")
        channel = self._require_channel(args)
        message = self._find_message(channel.id, str(args["timestamp"]))

        reactions = message.setdefault("reactions", [])
        if any(r["name"] == name for r in reactions):
            raise _MethodError("already_reacted")
        reactions.append({"name": name, "users": [self.identity.user_id], "count": 1})
        return {}

    # Users and user groups

    def _require_user(self, user_id: str) -> _User:
        user = self._users.get(user_id)
        if user is None:
            raise _MethodError("user_not_found")
        return user

    def users_info(self, args: dict[str, Any]) -> dict[str, Any]:
        return {"user": _render_user(self._require_user(str(args.get("user") or "")))}

    def users_list(self, args: dict[str, Any]) -> dict[str, Any]:
        members = [_render_user(user) for user in self._users.values()]
        page, next_cursor = _paginate(members, args, prefix="user", key="id")
        return {
            "members": page,
            "cache_ts": int(time.time()),
            "response_metadata": {"next_cursor": next_cursor},
        }

    def users_lookup_by_email(self, args: dict[str, Any]) -> dict[str, Any]:
        email = str(args.get("email") or "").strip().lower()
        for user in self._users.values():
            if email and user.email is not None and user.email.lower() == email:
                return {"user": _render_user(user)}
        raise _MethodError("users_not_found")

    def usergroups_list(self, args: dict[str, Any]) -> dict[str, Any]:
        include_users = _is_truthy(args.get("include_users"))
        groups = copy.deepcopy(list(self._usergroups.values()))
        for group in groups:
            if not include_users:
                del group["users"]
        return {"usergroups": groups}

    def usergroups_users_list(self, args: dict[str, Any]) -> dict[str, Any]:
        group = self._usergroups.get(str(args.get("usergroup") or ""))
        if group is None:
            raise _MethodError("no_such_subteam")
        return {"users": list(group["users"])}

    # Views

    def _build_view(
        self, spec: dict[str, Any], view_id: str, previous_view_id: str | None = None
    ) -> dict[str, Any]:
        identity = self.identity
        return {
            "id": view_id,
            "team_id": identity.team_id,
            "type": spec.get("type", "modal"),
            "close": spec.get("close"),
            "submit": spec.get("submit"),
            "blocks": spec.get("blocks", []),
            "private_metadata": spec.get("private_metadata", ""),
            "callback_id": spec.get("callback_id", ""),
            "state": {"values": {}},
            "hash": f"{self.next_ts()}.{view_id.lower()}",
            "title": spec.get("title", DEFAULT_VIEW_TITLE),
            "clear_on_close": bool(spec.get("clear_on_close", False)),
            "notify_on_close": bool(spec.get("notify_on_close", False)),
            "previous_view_id": previous_view_id,
            "root_view_id": view_id,
            "app_id": identity.app_id,
            "external_id": spec.get("external_id", ""),
            "app_installed_team_id": identity.team_id,
            "bot_id": identity.bot_id,
        }

    def _check_hash(self, view_id: str | None, args: dict[str, Any]) -> None:
        given = args.get("hash")
        if given and view_id is not None and self._views[view_id]["hash"] != given:
            raise _MethodError("hash_conflict")

    def views_publish(self, args: dict[str, Any]) -> dict[str, Any]:
        user_id = str(args.get("user_id") or "")
        if not USER_ID_PATTERN.match(user_id):
            raise _MethodError("invalid_arguments", "[ERROR] invalid `user_id`")
        spec = _require_view(args)
        if spec.get("type") != "home":
            raise _MethodError(
                "invalid_arguments", "[ERROR] must be `home` [json-pointer:/view/type]"
            )
        view_id = self._home_views.get(user_id)
        self._check_hash(view_id, args)

        view = self._build_view(spec, view_id or self.next_id("V"))
        self._views[view["id"]] = view
        self._home_views[user_id] = view["id"]
        return {"view": copy.deepcopy(view)}

    def _open_view(
        self, args: dict[str, Any], previous_view_id: str | None
    ) -> dict[str, Any]:
        if not args.get("trigger_id"):
            raise _MethodError(
                "invalid_arguments", "[ERROR] missing required field: trigger_id"
            )
        spec = _require_view(args)

        view = self._build_view(spec, self.next_id("V"), previous_view_id)
        self._views[view["id"]] = view
        return {"view": copy.deepcopy(view)}

    def views_open(self, args: dict[str, Any]) -> dict[str, Any]:
        return self._open_view(args, previous_view_id=None)

    def views_push(self, args: dict[str, Any]) -> dict[str, Any]:
        return self._open_view(args, previous_view_id=None)

    def _find_view_id(self, args: dict[str, Any]) -> str:
        view_id = args.get("view_id")
        external_id = args.get("external_id")
        if not view_id and not external_id:
            raise _MethodError(
                "invalid_arguments", "[ERROR] missing view_id or external_id"
            )
        for known in self._views.values():
            if known["id"] == view_id or (
                external_id and known["external_id"] == external_id
            ):
                return str(known["id"])
        raise _MethodError("not_found")

    def views_update(self, args: dict[str, Any]) -> dict[str, Any]:
        view_id = self._find_view_id(args)
        spec = _require_view(args)
        self._check_hash(view_id, args)

        previous = self._views[view_id]
        view = self._build_view(spec, view_id, previous["previous_view_id"])
        view["root_view_id"] = previous["root_view_id"]
        self._views[view_id] = view
        return {"view": copy.deepcopy(view)}

    # Files

    def files_get_upload_url_external(self, args: dict[str, Any]) -> dict[str, Any]:
        filename = str(args.get("filename") or "")
        try:
            length = int(args.get("length", ""))
        except (TypeError, ValueError):
            length = -1
        if not filename or length < 0:
            raise _MethodError(
                "invalid_arguments", "[ERROR] missing required field: filename, length"
            )

        file_id = self.next_id("F")
        self._files[file_id] = {
            "id": file_id,
            "name": filename,
            "length": length,
            "snippet_type": args.get("snippet_type"),
            "content": None,
            "title": filename,
            "channels": [],
        }
        upload_url = f"{self.base_url}/_emulator/upload/{file_id}"
        return {"upload_url": upload_url, "file_id": file_id}

    def _render_file(self, record: dict[str, Any]) -> dict[str, Any]:
        name = record["name"]
        file_url = f"{self.base_url}/_emulator/files/{record['id']}"
        return {
            "id": record["id"],
            "created": FIRST_TS_SECONDS,
            "timestamp": FIRST_TS_SECONDS,
            "name": name,
            "title": record["title"],
            "mimetype": mimetypes.guess_type(name)[0] or "application/octet-stream",
            "filetype": record["snippet_type"] or name.rpartition(".")[2] or "binary",
            "user": self.identity.user_id,
            "user_team": self.identity.team_id,
            "size": len(record["content"] or b""),
            "mode": "hosted",
            "is_external": False,
            "is_public": bool(record["channels"]),
            "url_private": file_url,
            "url_private_download": file_url,
            "permalink": f"{WORKSPACE_URL}files/{self.identity.user_id}/{record['id']}",
            "channels": list(record["channels"]),
            "file_access": "visible",
        }

    def _share_files(self, args: dict[str, Any], records: list[dict[str, Any]]) -> None:
        channel_ids = str(args.get("channels") or args.get("channel_id") or "")
        for channel_id in filter(None, (c.strip() for c in channel_ids.split(","))):
            channel = self._postable_channel({"channel": channel_id})
            for record in records:
                record["channels"].append(channel.id)
            content: dict[str, Any] = {"text": args.get("initial_comment") or ""}
            content["files"] = [self._render_file(r) for r in records]
            content["upload"] = True
            if args.get("thread_ts"):
                content["thread_ts"] = str(args["thread_ts"])
            self._store_message(channel.id, self._bot_message(self.next_ts(), content))

    def files_complete_upload_external(self, args: dict[str, Any]) -> dict[str, Any]:
        wanted = args.get("files")
        if not isinstance(wanted, list) or not wanted:
            raise _MethodError(
                "invalid_arguments", "[ERROR] missing required field: files"
            )
        records = []
        for item in wanted:
            record = (
                self._files.get(str(item.get("id"))) if isinstance(item, dict) else None
            )
            if record is None or record["content"] is None:
                raise _MethodError("file_not_found")
            record["title"] = item.get("title") or record["name"]
            records.append(record)

        self._share_files(args, records)
        return {"files": [self._render_file(r) for r in records]}


class _CallLog:
    """Every call the emulator received, in order of arrival."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._calls: list[dict[str, Any]] = []

    def record(
        self,
        method: str,
        args: dict[str, Any],
        request: _Request,
        token: tuple[bool, bool],
    ) -> dict[str, Any]:
        call = {
            "method": method,
            "args": copy.deepcopy(args),
            "headers": {
                "content-type": request.headers.get("content-type", ""),
                "user-agent": request.headers.get("user-agent", ""),
                "token_present": token[0],
                "token_valid": token[1],
            },
            "at": time.time(),
            "path": request.path,
            "response": None,
        }
        with self._lock:
            self._calls.append(call)
        return call

    def complete(self, call: dict[str, Any], reply: _Reply) -> None:
        with self._lock:
            call["response"] = {
                "http_status": reply.status,
                "ok": reply.ok,
                "error": reply.error,
            }
        logger.info(
            "emulator.call method=%s status=%d ok=%s error=%s",
            call["method"],
            reply.status,
            reply.ok,
            reply.error,
        )

    def list(self, method: str | None = None) -> list[dict[str, Any]]:
        with self._lock:
            calls = [c for c in self._calls if method is None or c["method"] == method]
            return copy.deepcopy(calls)

    def clear(self) -> None:
        with self._lock:
            self._calls.clear()


class _FaultQueue:
    """Faults waiting to be served, first in first out, per method."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: dict[str, list[_Fault]] = {}

    def add(self, method: str, fault: _Fault) -> None:
        with self._lock:
            self._faults.setdefault(method, []).append(fault)

    def take(self, method: str) -> _Fault | None:
        with self._lock:
            queue = self._faults.get(method)
            if not queue:
                return None
            fault = queue[0]
            fault.remaining -= 1
            if fault.remaining <= 0:
                queue.pop(0)
            return fault


class _EmulatorServer(ThreadingHTTPServer):
    """Threaded HTTP server that hands each request to its SlackEmulator."""

    daemon_threads = True
    block_on_close = False
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], emulator: SlackEmulator):
        super().__init__(address, _RequestHandler)
        self.emulator = emulator

    def handle_error(self, request: Any, client_address: Any) -> None:
        logger.exception("emulator.request_failed client=%s", client_address)


class _RequestHandler(BaseHTTPRequestHandler):
    """Reads one HTTP request, asks the emulator for a reply and writes it."""

    server: _EmulatorServer
    server_version = "SlackEmulator/1.0"

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def do_DELETE(self) -> None:
        self._serve("DELETE")

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug(format, *args)

    def _read_request(self, verb: str) -> _Request:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length > 0 else b""
        parts = urlsplit(self.path)
        headers = {name.lower(): value for name, value in self.headers.items()}
        return _Request(verb, parts.path, parts.query, headers, body)

    def _serve(self, verb: str) -> None:
        reply = self.server.emulator._dispatch(self._read_request(verb))
        if reply is None:
            self.close_connection = True
            return
        try:
            self.send_response(reply.status)
            self.send_header("Content-Type", reply.content_type)
            self.send_header("Content-Length", str(len(reply.body)))
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(reply.body)
        except (BrokenPipeError, ConnectionResetError):
            logger.debug("emulator.client_gone path=%s", self.path)


def _check_loopback(host: str) -> str:
    """The IPv4 address to bind for ``host``; refuses anything but loopback."""
    if host == "localhost":
        return "127.0.0.1"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        raise EmulatorHostError(host) from None
    if address.version != 4 or not address.is_loopback:
        raise EmulatorHostError(host)
    return host


class SlackEmulator:
    """A Slack Web API stand-in listening on a loopback port.

    ``token=None`` accepts any token (or none); with a token, a missing one is
    answered ``not_authed`` and a wrong one ``invalid_auth``. The bot user is in
    the directory from the start; add customers with :meth:`add_user`.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        team_id: str = "T0001",
        bot_user_id: str = "UBOT0001",
        bot_id: str = "B0001",
        enterprise_id: str | None = None,
        token: str | None = None,
        app_id: str = "A0001",
        scopes: Sequence[str] = DEFAULT_SCOPES,
    ):
        self._host = _check_loopback(host)
        self._requested_port = port
        self._token = token
        identity = _Identity(team_id, bot_user_id, bot_id, app_id, enterprise_id)
        self._workspace = _Workspace(identity, scopes)
        self._calls = _CallLog()
        self._faults = _FaultQueue()
        self._stopping = threading.Event()
        self._server: _EmulatorServer | None = None
        self._thread: threading.Thread | None = None

    def __enter__(self) -> SlackEmulator:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # Lifecycle

    def start(self) -> SlackEmulator:
        """Listen and serve in a daemon thread; calling it twice is harmless."""
        if self._server is not None:
            return self
        self._stopping.clear()
        self._server = _EmulatorServer((self._host, self._requested_port), self)
        self._workspace.base_url = self.base_url
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            args=(POLL_INTERVAL_SECONDS,),
            name=f"slack-emulator-{self.port}",
            daemon=True,
        )
        self._thread.start()
        logger.info("emulator.started api_url=%s", self.api_url)
        return self

    def stop(self) -> None:
        """Stop serving, cut short any injected delay and free the port."""
        server, thread = self._server, self._thread
        if server is None:
            return
        self._stopping.set()
        server.shutdown()
        server.server_close()
        if thread is not None:
            thread.join()
        self._server = self._thread = None
        logger.info("emulator.stopped")

    @property
    def port(self) -> int:
        if self._server is None:
            raise EmulatorStateError(
                "the Slack emulator is not listening yet; call start() first"
            )
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        return f"http://{self._host}:{self.port}"

    @property
    def api_url(self) -> str:
        return f"{self.base_url}/api/"

    def response_url(self, name: str = "cmd") -> str:
        """A URL for signed payloads' ``response_url``; posts there are recorded."""
        return f"{self.base_url}/_emulator/response/{name}"

    # Call log and faults

    def calls(self, method: str | None = None) -> list[dict[str, Any]]:
        """Copies of the calls received, oldest first, optionally of one method."""
        return self._calls.list(method)

    def clear_calls(self) -> None:
        self._calls.clear()

    def inject_fault(
        self,
        method: str,
        *,
        error: str | None = None,
        http_status: int = 200,
        retry_after: int | None = None,
        times: int = 1,
        delay_seconds: float = 0.0,
    ) -> None:
        """Make the next ``times`` calls of ``method`` fail or stall this way."""
        if not isinstance(times, int) or times < 1:
            raise EmulatorConfigError("times", times, "a whole number of at least 1")
        if not _is_http_status(http_status):
            raise EmulatorConfigError(
                "http_status", http_status, "an HTTP status from 200 to 599"
            )
        if delay_seconds < 0:
            raise EmulatorConfigError(
                "delay_seconds", delay_seconds, "zero or more seconds"
            )
        if retry_after is not None and retry_after < 0:
            raise EmulatorConfigError(
                "retry_after", retry_after, "zero or more seconds"
            )
        fault = _Fault(error, http_status, retry_after, times, delay_seconds)
        if not fault.is_failure and delay_seconds == 0:
            raise EmulatorConfigError(
                "error", error, "an error name, a non-200 http_status or a delay"
            )
        self._faults.add(method, fault)

    # Workspace content

    def add_user(
        self,
        user_id: str,
        *,
        name: str,
        real_name: str = "",
        tz: str = "UTC",
        tz_offset: int = 0,
        is_admin: bool = False,
        is_owner: bool = False,
        is_bot: bool = False,
        deleted: bool = False,
        email: str | None = None,
        team_id: str | None = None,
    ) -> dict[str, Any]:
        """Add or replace a directory member; returns it as users.info shows it."""
        user = _User(
            id=user_id,
            name=name,
            real_name=real_name or name,
            tz=tz,
            tz_offset=int(tz_offset),
            is_admin=bool(is_admin),
            is_owner=bool(is_owner),
            is_bot=bool(is_bot),
            deleted=bool(deleted),
            email=email,
            team_id=team_id or self._workspace.identity.team_id,
            updated=int(time.time()),
        )
        return self._workspace.add_user(user)

    def add_channel(
        self,
        channel_id: str,
        *,
        name: str | None = None,
        is_private: bool = False,
        is_archived: bool = False,
        is_member: bool = True,
        members: Sequence[str] | None = None,
    ) -> dict[str, Any]:
        """Register a channel; ``members`` limits who may get ephemeral messages."""
        channel = _Channel(
            id=channel_id,
            name=name or channel_id.lower(),
            created=FIRST_TS_SECONDS,
            is_private=bool(is_private),
            is_archived=bool(is_archived),
            is_member=bool(is_member),
            members=tuple(members) if members is not None else None,
        )
        return self._workspace.add_channel(channel)

    def add_usergroup(
        self, usergroup_id: str, handle: str, user_ids: Sequence[str]
    ) -> None:
        self._workspace.add_usergroup(usergroup_id, handle, list(user_ids))

    def home_view(self, user_id: str) -> dict[str, Any] | None:
        """The App Home view last published for ``user_id``, if any."""
        return self._workspace.home_view(user_id)

    def uploaded_files(self) -> list[dict[str, Any]]:
        """Files announced through files.getUploadURLExternal, with their bytes."""
        return self._workspace.uploaded_files()

    # HTTP dispatch

    def _dispatch(self, request: _Request) -> _Reply | None:
        if request.path.startswith("/api/"):
            return self._serve_api(request, request.path.removeprefix("/api/"))
        if request.path.startswith("/_emulator/"):
            return self._serve_emulator(
                request, request.path.removeprefix("/_emulator/")
            )
        return _json_reply({"ok": False, "error": "not_found"}, HTTPStatus.NOT_FOUND)

    def _token_status(self, token: str | None) -> tuple[bool, bool]:
        if token is None:
            return False, False
        if self._token is None:
            return True, True
        matches = hmac.compare_digest(str(token).encode(), self._token.encode())
        return True, matches

    def _auth_error(self, token_status: tuple[bool, bool]) -> dict[str, Any] | None:
        if self._token is None:
            return None
        if not token_status[0]:
            return {"ok": False, "error": "not_authed"}
        if not token_status[1]:
            return {"ok": False, "error": "invalid_auth"}
        return None

    def _serve_api(self, request: _Request, method: str) -> _Reply | None:
        parse_error: _MethodError | None = None
        try:
            args = _parse_args(request)
        except _MethodError as err:
            args, parse_error = {}, err
        arg_token = args.pop("token", None)
        token_status = self._token_status(_bearer_token(request.headers) or arg_token)
        call = self._calls.record(method, args, request, token_status)

        reply = self._api_reply(method, args, token_status, parse_error)
        if reply is not None:
            self._calls.complete(call, reply)
        return reply

    def _api_reply(
        self,
        method: str,
        args: dict[str, Any],
        token_status: tuple[bool, bool],
        parse_error: _MethodError | None,
    ) -> _Reply | None:
        fault = self._faults.take(method)
        if fault is not None and fault.delay_seconds > 0:
            if self._stopping.wait(fault.delay_seconds):
                return None
        if fault is not None and fault.is_failure:
            return _fault_reply(fault)

        scopes = {"x-oauth-scopes": ",".join(self._workspace.scopes)}
        payload = self._auth_error(token_status)
        if payload is None and parse_error is not None:
            payload = parse_error.payload()
        if payload is None:
            payload = self._workspace.call(method, args)
        return _json_reply(payload, headers=scopes)

    def _serve_emulator(self, request: _Request, route: str) -> _Reply:
        head, _, rest = route.partition("/")
        routes: dict[tuple[str, str], Callable[[_Request, str], _Reply]] = {
            ("GET", "calls"): self._serve_calls,
            ("DELETE", "calls"): self._serve_clear_calls,
            ("POST", "users"): self._serve_setup,
            ("POST", "channels"): self._serve_setup,
            ("POST", "usergroups"): self._serve_setup,
            ("POST", "faults"): self._serve_setup,
            ("GET", "home"): self._serve_home,
            ("POST", "response"): self._serve_response_url,
            ("POST", "upload"): self._serve_upload,
            ("GET", "files"): self._serve_file,
        }
        route_handler = routes.get((request.verb, head))
        if route_handler is None:
            return _json_reply(
                {"ok": False, "error": "not_found"}, HTTPStatus.NOT_FOUND
            )
        return route_handler(request, rest)

    def _serve_calls(self, request: _Request, rest: str) -> _Reply:
        method = dict(parse_qsl(request.query)).get("method")
        return _json_reply(self.calls(method))

    def _serve_clear_calls(self, request: _Request, rest: str) -> _Reply:
        self.clear_calls()
        return _json_reply({"ok": True})

    def _serve_setup(self, request: _Request, rest: str) -> _Reply:
        """POST /_emulator/{users,channels,usergroups,faults} with a JSON body."""
        try:
            body = json.loads(request.body or b"{}")
            if not isinstance(body, dict):
                raise TypeError("the body must be a JSON object")
            kind = request.path.removeprefix("/_emulator/").partition("/")[0]
            result = self._apply_setup(kind, body)
        except (TypeError, ValueError) as err:
            return _json_reply({"ok": False, "error": str(err)}, HTTPStatus.BAD_REQUEST)
        return _json_reply({"ok": True, **result})

    def _apply_setup(self, kind: str, body: dict[str, Any]) -> dict[str, Any]:
        if kind == "users":
            return {
                "user": self.add_user(body.pop("user_id", body.pop("id", "")), **body)
            }
        if kind == "channels":
            return {
                "channel": self.add_channel(
                    body.pop("channel_id", body.pop("id", "")), **body
                )
            }
        if kind == "usergroups":
            self.add_usergroup(**body)
            return {}
        self.inject_fault(**body)
        return {}

    def _serve_home(self, request: _Request, user_id: str) -> _Reply:
        view = self.home_view(user_id)
        if view is None:
            return _json_reply(
                {"ok": False, "error": "no_home_view"}, HTTPStatus.NOT_FOUND
            )
        return _json_reply(view)

    def _serve_response_url(self, request: _Request, name: str) -> _Reply:
        try:
            args = _parse_args(request)
        except _MethodError:
            args = {"raw": request.body.decode("utf-8", errors="replace")}
        call = self._calls.record("response_url", args, request, (False, False))
        reply = _json_reply({"ok": True})
        self._calls.complete(call, reply)
        return reply

    def _serve_upload(self, request: _Request, file_id: str) -> _Reply:
        args = {"file_id": file_id, "length": len(request.body)}
        call = self._calls.record("file_upload", args, request, (False, False))
        if self._workspace.store_upload(file_id, request.body):
            reply = _Reply(200, f"OK - {len(request.body)}".encode(), "text/plain")
        else:
            reply = _Reply(
                404, b"file not found", "text/plain", ok=False, error="file_not_found"
            )
        self._calls.complete(call, reply)
        return reply

    def _serve_file(self, request: _Request, file_id: str) -> _Reply:
        for record in self.uploaded_files():
            if record["id"] == file_id and record["content"] is not None:
                return _Reply(200, record["content"], "application/octet-stream")
        return _Reply(
            404, b"file not found", "text/plain", ok=False, error="file_not_found"
        )


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ltv-bot emulator",
        description="Run a local Slack Web API emulator until Ctrl-C.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="loopback address to bind")
    parser.add_argument("--port", type=int, default=3001, help="port to listen on")
    return parser


def main(
    argv: Sequence[str] | None = None, *, stop: threading.Event | None = None
) -> int:
    """``ltv-bot emulator``: serve in the foreground until Ctrl-C (or ``stop``)."""
    parser = _build_parser()
    options = parser.parse_args(argv)
    try:
        emulator = SlackEmulator(options.host, options.port)
    except EmulatorHostError as err:
        parser.error(str(err))
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s"
    )

    try:
        emulator.start()
    except OSError as err:
        parser.exit(
            1, f"{parser.prog}: cannot listen on {options.host}:{options.port}: {err}\n"
        )
    sys.stdout.write(f"Slack Web API emulator at {emulator.api_url} (Ctrl-C to stop)\n")
    sys.stdout.flush()
    _serve_until_stopped(emulator, stop or threading.Event())
    return 0


def _serve_until_stopped(emulator: SlackEmulator, stop: threading.Event) -> None:
    try:
        # Short slices, so a Ctrl-C delivered to another thread is still seen.
        while not stop.wait(timeout=0.2):
            pass
    except KeyboardInterrupt:
        logger.info("emulator.interrupted")
    finally:
        emulator.stop()
