"""Delivering payloads to the bot as Slack would: signed HTTP requests on loopback.

Used by the demo, the tests and the benchmarks; it refuses any host that is
not this machine.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import ipaddress
import json
import time
import urllib.parse
from dataclasses import dataclass
from typing import Any


class NotLoopbackError(ValueError):
    """The replay target is not on this machine."""


@dataclass(frozen=True, slots=True)
class Delivery:
    status: int
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


def sign(secret: str, timestamp: int, body: bytes) -> str:
    base = b"v0:" + str(timestamp).encode() + b":" + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def event_body(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()


def form_body(fields: dict[str, str]) -> bytes:
    return urllib.parse.urlencode(fields).encode()


def interactivity_body(payload: dict[str, Any]) -> bytes:
    return form_body({"payload": json.dumps(payload, separators=(",", ":"))})


class SlackReplayer:
    """Signs and posts request bodies to one bot URL."""

    def __init__(self, url: str, secret: str, *, timeout_s: float = 10.0) -> None:
        parts = urllib.parse.urlsplit(url)
        host = "127.0.0.1" if parts.hostname == "localhost" else parts.hostname or ""
        try:
            is_loopback = ipaddress.ip_address(host).is_loopback
        except ValueError:
            is_loopback = False
        if parts.scheme != "http" or not is_loopback:
            raise NotLoopbackError(f"replay target {url!r} is not http on loopback")
        self.host, self.port = host, parts.port or 80
        self.path = parts.path or "/"
        self.secret = secret
        self.timeout_s = timeout_s

    def post(
        self,
        body: bytes,
        *,
        content_type: str,
        timestamp: int | None = None,
        extra_headers: dict[str, str] | None = None,
    ) -> Delivery:
        stamp = int(time.time()) if timestamp is None else timestamp
        headers = {
            "Content-Type": content_type,
            "X-Slack-Request-Timestamp": str(stamp),
            "X-Slack-Signature": sign(self.secret, stamp, body),
            **(extra_headers or {}),
        }
        return self._send(body, headers)

    def post_event(self, payload: dict[str, Any], **kwargs: Any) -> Delivery:
        return self.post(event_body(payload), content_type="application/json", **kwargs)

    def post_command(self, fields: dict[str, str], **kwargs: Any) -> Delivery:
        return self.post(
            form_body(fields),
            content_type="application/x-www-form-urlencoded",
            **kwargs,
        )

    def post_interaction(self, payload: dict[str, Any], **kwargs: Any) -> Delivery:
        return self.post(
            interactivity_body(payload),
            content_type="application/x-www-form-urlencoded",
            **kwargs,
        )

    def _send(self, body: bytes, headers: dict[str, str]) -> Delivery:
        # One connection a request: the development server closes after each.
        conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout_s)
        try:
            conn.request("POST", self.path, body=body, headers=headers)
            response = conn.getresponse()
            return Delivery(response.status, response.read())
        finally:
            conn.close()
