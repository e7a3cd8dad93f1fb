"""Slack Web API failures at the messenger: mapped, retried only when safe."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest
from slack_sdk.errors import SlackClientError

from bot.messenger import SlackMessenger, build_web_client
from strategies.messenger import SendError
from tests.scenarios.conftest import CUSTOMER

TENANT = "TMESSENGER1"


@pytest.fixture
def messenger(emulator) -> SlackMessenger:
    return SlackMessenger(build_web_client("xoxb-test-token", emulator.api_url))


def send(messenger: SlackMessenger):
    return messenger.send_direct_message(TENANT, CUSTOMER, text="Welcome!")


@pytest.mark.parametrize(
    "error",
    [
        "channel_not_found",
        "not_in_channel",
        "is_archived",
        "account_inactive",
        "invalid_auth",
        "user_not_found",
        "msg_too_long",
    ],
)
def test_a_final_post_error_is_mapped_and_not_retried(messenger, emulator, error):
    emulator.inject_fault("chat.postMessage", error=error)

    with pytest.raises(SendError) as raised:
        send(messenger)

    assert raised.value.code == error
    assert raised.value.retryable is False
    assert str(raised.value) == f"message not sent: {error}"
    assert len(emulator.calls("chat.postMessage")) == 1


@pytest.mark.parametrize(
    "error", ["user_not_found", "account_inactive", "invalid_auth"]
)
def test_a_final_error_opening_the_dm_sends_nothing(messenger, emulator, error):
    emulator.inject_fault("conversations.open", error=error)

    with pytest.raises(SendError) as raised:
        send(messenger)

    assert (raised.value.code, raised.value.retryable) == (error, False)
    assert emulator.calls("chat.postMessage") == []


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_a_server_error_opening_the_dm_may_be_retried_later(
    messenger, emulator, status
):
    emulator.inject_fault("conversations.open", http_status=status)

    with pytest.raises(SendError) as raised:
        send(messenger)

    assert raised.value.retryable is True
    assert raised.value.code == f"http_{status}"
    assert emulator.calls("chat.postMessage") == []


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_a_server_error_on_the_post_is_an_unknown_outcome_never_retried(
    messenger, emulator, status
):
    emulator.inject_fault("chat.postMessage", http_status=status)

    with pytest.raises(SendError) as raised:
        send(messenger)

    assert raised.value.retryable is False
    assert raised.value.in_doubt is True
    assert raised.value.code == f"http_{status}"
    assert len(emulator.calls("chat.postMessage")) == 1


def test_a_rate_limited_post_is_retried_after_retry_after_and_sent_once(
    messenger, emulator
):
    emulator.inject_fault("chat.postMessage", http_status=429, retry_after=0)

    sent = send(messenger)

    posts = emulator.calls("chat.postMessage")
    assert sent.channel.startswith("D")
    assert len(posts) == 2
    assert len(emulator.calls("conversations.open")) == 1


def test_a_post_that_times_out_is_not_sent_again(messenger, emulator):
    messenger.client.timeout = 0.3
    emulator.inject_fault("chat.postMessage", delay_seconds=1.0)

    with pytest.raises(SendError) as raised:
        send(messenger)

    assert (raised.value.code, raised.value.retryable) == ("delivery_unknown", False)
    assert len(emulator.calls("chat.postMessage")) == 1


class HangUpServer:
    """Reads each HTTP request, counts it, and closes without an answer."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.requests = 0
        self._thread = threading.Thread(target=self._serve, daemon=True)

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.sock.getsockname()[1]}/api/"

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                conn.recv(65536)
                self.requests += 1

    def __enter__(self) -> HangUpServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.sock.close()


@pytest.fixture
def hang_up_server() -> Iterator[HangUpServer]:
    with HangUpServer() as server:
        yield server


def test_a_post_whose_connection_drops_is_sent_at_most_once(hang_up_server):
    client = build_web_client("xoxb-test-token", hang_up_server.api_url)

    with pytest.raises((OSError, SlackClientError)):
        client.chat_postMessage(channel="D0001", text="Welcome!")

    assert hang_up_server.requests == 1


def test_a_dropped_connection_while_opening_the_dm_is_retryable(hang_up_server):
    client = build_web_client("xoxb-test-token", hang_up_server.api_url)

    with pytest.raises(SendError) as raised:
        SlackMessenger(client).send_direct_message(TENANT, CUSTOMER, text="Welcome!")

    assert (raised.value.code, raised.value.retryable) == ("connection_error", True)
    assert hang_up_server.requests == 1


def test_a_post_refused_as_unavailable_may_be_retried(messenger, emulator):
    emulator.inject_fault("chat.postMessage", error="service_unavailable")

    with pytest.raises(SendError) as raised:
        send(messenger)

    assert raised.value.retryable is True
    assert raised.value.in_doubt is False
