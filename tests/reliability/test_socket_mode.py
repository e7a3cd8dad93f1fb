"""Socket Mode: redeliveries count once; payloads of the wrong shape are dropped."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from slack_sdk.socket_mode.request import SocketModeRequest

from bot.socket_mode import CheckedSocketModeHandler
from tests.reliability.replaying import envelope
from tests.scenarios.conftest import CUSTOMER, ORDERS_CHANNEL


class RecordingSocket:
    """Stands in for the WebSocket: keeps the acknowledgements sent on it."""

    def __init__(self) -> None:
        self.acks: list[str] = []
        self.logger = logging.getLogger("tests.socket")

    def send_socket_mode_response(self, response) -> None:
        self.acks.append(response.envelope_id)


@pytest.fixture
def handler(bot) -> Iterator[CheckedSocketModeHandler]:
    handler = CheckedSocketModeHandler(bot.runtime.app, "xapp-1-test-app-token")
    yield handler
    handler.client.close()


def request(payload: dict, envelope_id: str, retry: int = 0) -> SocketModeRequest:
    return SocketModeRequest(
        type="events_api",
        envelope_id=envelope_id,
        payload=payload,
        retry_attempt=retry,
        retry_reason="timeout" if retry else None,
    )


def order(tenant: str) -> dict:
    event = {
        "type": "message",
        "subtype": "bot_message",
        "bot_id": "BSHOP01",
        "text": f"Order 3 paid: $7.00 by <@{CUSTOMER}>",
        "channel": ORDERS_CHANNEL,
        "ts": "1700000700.000100",
    }
    return envelope(tenant, "EvSOCKET001", event)


def test_socket_mode_retry_attempts_are_acknowledged_and_count_once(bot, handler):
    socket = RecordingSocket()

    for attempt, envelope_id in enumerate(["env-1", "env-2", "env-3"]):
        handler.handle(socket, request(order(bot.tenant), envelope_id, attempt))

    assert socket.acks == ["env-1", "env-2", "env-3"]
    assert bot.customer().purchases == 1


@pytest.mark.parametrize(
    "change",
    [
        {"event": "not an object"},
        {"authorizations": 7},
        {"authorizations": [{"team_id": ["T1"]}]},
        {"team_id": {"id": "T1"}},
    ],
)
def test_a_socket_payload_of_the_wrong_shape_is_dropped_not_crashed(
    bot, handler, change
):
    socket = RecordingSocket()

    handler.handle(socket, request({**order(bot.tenant), **change}, "env-bad"))

    assert socket.acks == ["env-bad"]
    assert bot.customer() is None
