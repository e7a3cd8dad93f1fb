"""Socket Mode: Bolt's handler, refusing payloads of the wrong shape first.

Socket Mode requests carry no signature; the WebSocket itself is opened with
the app-level token, so only Slack delivers on it. Bolt still fails on a
payload whose fields have the wrong types before any listener runs, so such a
payload is acknowledged and dropped here, with a warning naming the field.
"""

from __future__ import annotations

import logging

from slack_bolt.adapter.socket_mode import SocketModeHandler
from slack_sdk.socket_mode.builtin import SocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse

from bot.payload_shape import payload_problem

logger = logging.getLogger(__name__)


class CheckedSocketModeHandler(SocketModeHandler):
    """Bolt's Socket Mode handler behind the same shape check as HTTP mode."""

    def handle(self, client: SocketModeClient, req: SocketModeRequest) -> None:  # type: ignore[override]
        problem = payload_problem(req.payload)
        if problem is None:
            super().handle(client, req)
            return
        logger.warning(
            "socket mode payload refused type=%s retry=%s: %s",
            req.type,
            req.retry_attempt,
            problem,
        )
        client.send_socket_mode_response(
            SocketModeResponse(envelope_id=req.envelope_id)
        )
