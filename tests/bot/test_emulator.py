"""The Slack Web API emulator, driven through the real slack_sdk clients."""

from __future__ import annotations

import http.client
import json
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler
from slack_sdk.webhook import WebhookClient

from bot.emulator import (
    EmulatorConfigError,
    EmulatorHostError,
    EmulatorStateError,
    SlackEmulator,
    main,
)

EXAMPLES = Path(__file__).resolve().parents[1] / "data" / "slack_web_api"
TOKEN = "xoxb-emulator-test-token"


def example(name: str) -> dict[str, Any]:
    return json.loads((EXAMPLES / f"{name}.json").read_text(encoding="utf-8"))


def shape(value: Any) -> Any:
    """Keys and value types of a JSON document, values themselves left out."""
    if isinstance(value, dict):
        return {key: shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [shape(item) for item in value]
    return type(value).__name__


def http_request(
    emulator: SlackEmulator,
    verb: str,
    path: str,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, dict[str, str], bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", emulator.port, timeout=5)
    try:
        connection.request(verb, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


def post_json(emulator: SlackEmulator, path: str, body: Any) -> tuple[int, Any]:
    status, _, raw = http_request(
        emulator,
        "POST",
        path,
        json.dumps(body).encode(),
        {"Content-Type": "application/json"},
    )
    return status, json.loads(raw)


def slack_error(call: Any) -> SlackApiError:
    with pytest.raises(SlackApiError) as caught:
        call()
    return caught.value


@pytest.fixture
def emulator():
    with SlackEmulator() as running:
        yield running


@pytest.fixture
def client(emulator: SlackEmulator) -> WebClient:
    return WebClient(token=TOKEN, base_url=emulator.api_url)


@pytest.fixture
def customer(emulator: SlackEmulator) -> dict[str, Any]:
    return emulator.add_user(
        "U0CUST1",
        name="jane",
        real_name="Jane Customer",
        tz="America/Los_Angeles",
        tz_offset=-28800,
        email="jane@customer.example",
    )


# Lifecycle


def test_api_url_is_loopback_with_the_bound_port_and_api_suffix(emulator):
    assert emulator.port > 0
    assert emulator.base_url == f"http://127.0.0.1:{emulator.port}"
    assert emulator.api_url == f"http://127.0.0.1:{emulator.port}/api/"


def test_port_before_start_raises_state_error():
    emulator = SlackEmulator()

    with pytest.raises(EmulatorStateError, match="call start"):
        _ = emulator.port


# S104: binding to every interface is exactly what these tests expect refused.
@pytest.mark.parametrize("host", ["0.0.0.0", "10.1.2.3", "::1", "slack.com"])  # noqa: S104
def test_non_loopback_host_is_refused_naming_the_host(host):
    with pytest.raises(EmulatorHostError, match="refusing to listen") as caught:
        SlackEmulator(host)

    assert caught.value.host == host
    assert isinstance(caught.value, ValueError)


def test_localhost_binds_ipv4_loopback():
    with SlackEmulator("localhost") as emulator:
        assert emulator.base_url.startswith("http://127.0.0.1:")


def test_stop_frees_the_port_and_is_idempotent():
    emulator = SlackEmulator().start()
    port = emulator.port

    emulator.stop()
    emulator.stop()

    with SlackEmulator(port=port) as again:
        assert again.port == port


# auth.test and tokens


def test_auth_test_matches_the_example_shape_and_lists_scopes(client):
    response = client.auth_test()

    expected = example("auth.test.ok")
    assert shape(response.data) == shape(expected["body"])
    assert response["user_id"] == "UBOT0001"
    assert response["team_id"] == "T0001"
    assert response["bot_id"] == "B0001"
    assert "chat:write" in response.headers["x-oauth-scopes"].split(",")


def test_auth_test_on_grid_workspace_includes_enterprise_id():
    with SlackEmulator(enterprise_id="E0GRID1", team_id="T0GRIDWS1") as emulator:
        response = WebClient(token=TOKEN, base_url=emulator.api_url).auth_test()

    assert shape(response.data) == shape(example("auth.test.grid_workspace")["body"])
    assert response["enterprise_id"] == "E0GRID1"
    assert response["is_enterprise_install"] is False


def test_wrong_token_is_invalid_auth_like_slack():
    with SlackEmulator(token=TOKEN) as emulator:
        wrong = WebClient(token="xoxb-wrong", base_url=emulator.api_url)
        error = slack_error(wrong.auth_test)

    expected = example("auth.test.error.invalid_auth")
    assert error.response.status_code == expected["http_status"]
    assert error.response.data == expected["body"]


def test_missing_token_is_not_authed_when_a_token_is_configured():
    with SlackEmulator(token=TOKEN) as emulator:
        error = slack_error(WebClient(base_url=emulator.api_url).auth_test)

    assert error.response.data == {"ok": False, "error": "not_authed"}


def test_token_in_form_arguments_is_accepted_and_never_recorded():
    with SlackEmulator(token=TOKEN) as emulator:
        tokenless = WebClient(base_url=emulator.api_url)
        response = tokenless.api_call("auth.test", params={"token": TOKEN})
        calls = emulator.calls()

    assert response["ok"] is True
    assert "token" not in calls[0]["args"]
    assert calls[0]["headers"]["token_valid"] is True
    assert TOKEN not in json.dumps(calls)


def test_any_token_or_none_is_accepted_without_a_configured_token(emulator):
    WebClient(token="xoxb-anything", base_url=emulator.api_url).auth_test()
    WebClient(base_url=emulator.api_url).auth_test()

    headers = [call["headers"] for call in emulator.calls("auth.test")]
    assert [h["token_present"] for h in headers] == [True, False]
    assert [h["token_valid"] for h in headers] == [True, False]


# chat.postMessage


def test_post_message_matches_the_example_shape(client):
    body = example("chat.postMessage.ok")["body"]

    response = client.chat_postMessage(
        channel="C0SUPPORT",
        text=body["message"]["text"],
        blocks=body["message"]["blocks"],
    )

    assert shape(response.data) == shape(body)
    assert response["channel"] == "C0SUPPORT"
    assert response["message"]["blocks"] == body["message"]["blocks"]
    assert response["message"]["user"] == "UBOT0001"


def test_post_message_timestamps_are_unique_and_increasing(client):
    stamps = [
        client.chat_postMessage(channel="C1", text=str(n))["ts"] for n in range(3)
    ]

    assert stamps[0] == "1700000000.000100"
    assert stamps == sorted(stamps, key=float)
    assert len(set(stamps)) == 3


def test_post_message_records_form_blocks_json_decoded(client, emulator):
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "*hi*"}}]

    params = {"channel": "C1", "text": "hi", "blocks": json.dumps(blocks)}

    client.api_call("chat.postMessage", params=params)

    (call,) = emulator.calls("chat.postMessage")
    assert call["args"] == {"channel": "C1", "text": "hi", "blocks": blocks}
    assert call["headers"]["content-type"] == "application/x-www-form-urlencoded"
    assert call["response"] == {"http_status": 200, "ok": True, "error": None}
    assert isinstance(call["at"], float)


def test_post_message_to_a_user_id_lands_in_their_dm(client):
    posted = client.chat_postMessage(channel="U0CUST1", text="hello")

    opened = client.conversations_open(users="U0CUST1")
    assert posted["channel"] == opened["channel"]["id"] == "D0CUST1"


def test_post_message_without_channel_is_channel_not_found(client):
    error = slack_error(lambda: client.chat_postMessage(channel="", text="hi"))

    expected = example("chat.postMessage.error.channel_not_found")
    assert error.response.status_code == expected["http_status"]
    assert error.response.data == expected["body"]


def test_post_message_to_archived_channel_is_is_archived(client, emulator):
    emulator.add_channel("C0OLD", name="old", is_archived=True)

    error = slack_error(lambda: client.chat_postMessage(channel="C0OLD", text="hi"))

    assert error.response.data == example("chat.postMessage.error.is_archived")["body"]


def test_post_message_where_bot_is_not_member_is_not_in_channel(client, emulator):
    emulator.add_channel("C0PRIV", name="private", is_member=False)

    error = slack_error(lambda: client.chat_postMessage(channel="C0PRIV", text="hi"))

    expected = example("chat.postMessage.error.not_in_channel")["body"]
    assert error.response.data == expected


def test_post_message_without_text_or_blocks_is_no_text(client):
    params = {"channel": "C1"}

    error = slack_error(lambda: client.api_call("chat.postMessage", params=params))

    assert error.response.data == {"ok": False, "error": "no_text"}


def test_post_message_with_blocks_not_a_list_is_invalid_blocks(client):
    params = {"channel": "C1", "blocks": '{"type": "section"}'}

    error = slack_error(lambda: client.api_call("chat.postMessage", params=params))

    assert error.response["error"] == "invalid_blocks"
    assert error.response["response_metadata"]["messages"]


def test_post_message_over_40000_chars_is_msg_too_long(client):
    error = slack_error(
        lambda: client.chat_postMessage(channel="C1", text="x" * 40_001)
    )

    assert error.response.data == {"ok": False, "error": "msg_too_long"}


def test_post_message_accepts_a_json_body(client, emulator):
    blocks = [{"type": "divider"}]

    response = client.api_call(
        "chat.postMessage", json={"channel": "C1", "text": "hi", "blocks": blocks}
    )

    assert response["message"]["blocks"] == blocks
    (call,) = emulator.calls("chat.postMessage")
    assert call["headers"]["content-type"].startswith("application/json")


def test_invalid_json_body_is_invalid_json(emulator):
    status, _, raw = http_request(
        emulator,
        "POST",
        "/api/chat.postMessage",
        b"{not json",
        {"Content-Type": "application/json"},
    )

    assert status == 200
    assert json.loads(raw) == {"ok": False, "error": "invalid_json"}


def test_query_arguments_work_with_get(emulator, customer):
    status, headers, raw = http_request(
        emulator,
        "GET",
        "/api/users.info?user=U0CUST1",
        headers={"Authorization": f"Bearer {TOKEN}"},
    )

    assert status == 200
    assert headers["Content-Type"] == "application/json; charset=utf-8"
    assert json.loads(raw)["user"]["name"] == "jane"


def test_concurrent_posts_get_distinct_timestamps(client):
    def post(n: int) -> str:
        return client.chat_postMessage(channel="C1", text=str(n))["ts"]

    with ThreadPoolExecutor(max_workers=8) as pool:
        stamps = list(pool.map(post, range(48)))

    assert len(set(stamps)) == 48
    assert len(client.conversations_history(channel="C1")["messages"]) == 48


# chat.postEphemeral, chat.update, chat.delete, reactions.add


def test_post_ephemeral_matches_the_example_shape(client):
    response = client.chat_postEphemeral(channel="C1", user="U0CUST1", text="psst")

    assert shape(response.data) == shape(example("chat.postEphemeral.ok")["body"])


def test_post_ephemeral_without_user_is_user_not_in_channel(client):
    error = slack_error(
        lambda: client.api_call(
            "chat.postEphemeral", params={"channel": "C1", "text": "x"}
        )
    )

    expected = example("chat.postEphemeral.error.user_not_in_channel")["body"]
    assert error.response.data == expected


def test_post_ephemeral_to_non_member_is_user_not_in_channel(client, emulator):
    emulator.add_channel("C0TEAM", name="team", members=["U0AGENT"])

    error = slack_error(
        lambda: client.chat_postEphemeral(channel="C0TEAM", user="U0CUST1", text="x")
    )

    assert error.response["error"] == "user_not_in_channel"


def test_update_replaces_text_and_marks_the_message_edited(client):
    ts = client.chat_postMessage(channel="C1", text="draft")["ts"]

    response = client.chat_update(channel="C1", ts=ts, text="final")

    assert response["ts"] == ts
    assert response["text"] == "final"
    (message,) = client.conversations_history(channel="C1")["messages"]
    assert message["text"] == "final"
    assert message["edited"]["user"] == "UBOT0001"


def test_update_of_unknown_message_is_message_not_found(client):
    error = slack_error(
        lambda: client.chat_update(channel="C1", ts="1.000000", text="final")
    )

    assert error.response.data == {"ok": False, "error": "message_not_found"}


def test_delete_removes_the_message_once(client):
    ts = client.chat_postMessage(channel="C1", text="oops")["ts"]

    response = client.chat_delete(channel="C1", ts=ts)
    error = slack_error(lambda: client.chat_delete(channel="C1", ts=ts))

    assert response.data == {"ok": True, "channel": "C1", "ts": ts}
    assert client.conversations_history(channel="C1")["messages"] == []
    assert error.response["error"] == "message_not_found"


def test_reaction_is_stored_once_then_already_reacted(client):
    ts = client.chat_postMessage(channel="C1", text="nice")["ts"]

    response = client.reactions_add(channel="C1", timestamp=ts, name="tada")
    error = slack_error(
        lambda: client.reactions_add(channel="C1", timestamp=ts, name="tada")
    )

    assert response.data == {"ok": True}
    assert error.response["error"] == "already_reacted"
    (message,) = client.conversations_history(channel="C1")["messages"]
    assert message["reactions"] == [{"name": "tada", "users": ["UBOT0001"], "count": 1}]


# Conversations


def test_open_dm_matches_the_example_shape_and_is_stable(client):
    first = client.conversations_open(users="U0CUST1")
    second = client.conversations_open(users="U0CUST1", return_im=True)

    assert shape(first.data) == shape(example("conversations.open.ok")["body"])
    already_open = example("conversations.open.already_open")["body"]
    assert set(second.data) == set(already_open)
    assert set(second["channel"]) == set(already_open["channel"])
    assert second["already_open"] is True
    assert second["channel"]["id"] == first["channel"]["id"] == "D0CUST1"
    assert second["channel"]["user"] == "U0CUST1"


def test_open_dm_with_malformed_user_is_user_not_found(client):
    error = slack_error(lambda: client.conversations_open(users="not-a-user"))

    expected = example("conversations.open.error.user_not_found")["body"]
    assert error.response.data == expected


def test_history_is_newest_first_and_paginates(client):
    stamps = [
        client.chat_postMessage(channel="C1", text=str(n))["ts"] for n in range(3)
    ]

    first = client.conversations_history(channel="C1", limit=2)
    cursor = first["response_metadata"]["next_cursor"]
    second = client.conversations_history(channel="C1", limit=2, cursor=cursor)

    assert [m["ts"] for m in first["messages"]] == stamps[:0:-1]
    assert first["has_more"] is True
    assert [m["ts"] for m in second["messages"]] == stamps[:1]
    assert second["has_more"] is False
    assert second["response_metadata"]["next_cursor"] == ""


def test_history_leaves_out_thread_replies_which_replies_returns(client):
    parent = client.chat_postMessage(channel="C1", text="parent")["ts"]
    reply = client.chat_postMessage(channel="C1", text="reply", thread_ts=parent)["ts"]

    history = client.conversations_history(channel="C1")["messages"]
    thread = client.conversations_replies(channel="C1", ts=parent)["messages"]

    assert [m["ts"] for m in history] == [parent]
    assert history[0]["reply_count"] == 1
    assert [m["ts"] for m in thread] == [parent, reply]


def test_history_of_malformed_channel_is_channel_not_found(client):
    error = slack_error(lambda: client.conversations_history(channel="nope"))

    assert error.response.data == {"ok": False, "error": "channel_not_found"}


def test_history_with_a_forged_cursor_is_invalid_cursor(client):
    error = slack_error(
        lambda: client.conversations_history(channel="C1", cursor="bm9wZQ==")
    )

    assert error.response["error"] == "invalid_cursor"


def test_info_describes_registered_channels_and_dms(client, emulator):
    emulator.add_channel("C0SUPPORT", name="support")
    client.conversations_open(users="U0CUST1")

    channel = client.conversations_info(channel="C0SUPPORT")["channel"]
    dm = client.conversations_info(channel="D0CUST1")["channel"]

    assert (channel["name"], channel["is_channel"]) == ("support", True)
    assert (dm["is_im"], dm["user"]) == (True, "U0CUST1")


# Users and user groups


def test_users_info_matches_the_example_shape(client, customer):
    response = client.users_info(user="U0CUST1")

    assert shape(response.data) == shape(example("users.info.ok")["body"])
    assert response["user"] == customer
    assert response["user"]["tz_offset"] == -28800
    assert response["user"]["profile"]["email"] == "jane@customer.example"


def test_users_info_of_the_bot_matches_the_bot_example_shape(client):
    response = client.users_info(user="UBOT0001")

    assert shape(response.data) == shape(example("users.info.bot_user")["body"])
    assert response["user"]["profile"]["bot_id"] == "B0001"


def test_users_info_of_deleted_user_matches_the_deleted_example_shape(client, emulator):
    emulator.add_user(
        "U0GONE01", name="former.customer", real_name="Former Customer", deleted=True
    )

    response = client.users_info(user="U0GONE01")

    assert shape(response.data) == shape(example("users.info.deleted_user")["body"])
    assert response["user"]["deleted"] is True


def test_users_info_of_unknown_user_is_user_not_found(client):
    error = slack_error(lambda: client.users_info(user="U0NOBODY"))

    assert error.response.data == example("users.info.error.user_not_found")["body"]


def test_add_user_with_malformed_id_names_the_value(emulator):
    with pytest.raises(EmulatorConfigError, match="user_id='jane'"):
        emulator.add_user("jane", name="jane")


def test_users_list_paginates_with_next_cursor(client, emulator):
    for n in range(3):
        emulator.add_user(f"U0CUST{n}", name=f"customer{n}")

    pages = [
        [member["id"] for member in page["members"]]
        for page in client.users_list(limit=2)
    ]

    assert pages == [["UBOT0001", "U0CUST0"], ["U0CUST1", "U0CUST2"]]


def test_lookup_by_email_finds_the_user_ignoring_case(client, customer):
    response = client.users_lookupByEmail(email="Jane@Customer.example")

    assert response["user"]["id"] == "U0CUST1"


def test_lookup_by_unknown_email_is_users_not_found(client):
    error = slack_error(lambda: client.users_lookupByEmail(email="who@example.com"))

    assert error.response.data == {"ok": False, "error": "users_not_found"}


def test_usergroup_members_are_listed(client, emulator):
    emulator.add_usergroup("S0ADMINS", "ltv-admins", ["U0ADMIN1", "U0ADMIN2"])

    response = client.usergroups_users_list(usergroup="S0ADMINS")

    assert response["users"] == ["U0ADMIN1", "U0ADMIN2"]


def test_unknown_usergroup_is_no_such_subteam(client):
    error = slack_error(lambda: client.usergroups_users_list(usergroup="S0NONE"))

    assert error.response.data == {"ok": False, "error": "no_such_subteam"}


# Views


def home_view_spec() -> dict[str, Any]:
    view = example("views.publish.ok")["body"]["view"]
    return {k: view[k] for k in ("type", "blocks", "callback_id", "title")}


def test_publish_matches_the_example_shape_and_keeps_the_view_id(client):
    first = client.views_publish(user_id="U0CUST1", view=home_view_spec())
    second = client.views_publish(user_id="U0CUST1", view=home_view_spec())

    assert shape(first.data) == shape(example("views.publish.ok")["body"])
    assert second["view"]["id"] == first["view"]["id"]
    assert second["view"]["hash"] != first["view"]["hash"]


def test_publish_without_view_is_invalid_arguments(client):
    params = {"user_id": "U0CUST1"}

    error = slack_error(lambda: client.api_call("views.publish", params=params))

    expected = example("views.publish.error.invalid_arguments")["body"]
    assert shape(error.response.data) == shape(expected)
    assert error.response["error"] == "invalid_arguments"


def test_publish_with_a_non_object_view_is_invalid_arguments(client):
    params = {"user_id": "U0CUST1", "view": "[1, 2]"}

    error = slack_error(lambda: client.api_call("views.publish", params=params))

    assert error.response["error"] == "invalid_arguments"


def test_publish_with_bad_user_id_names_the_field(client):
    error = slack_error(lambda: client.views_publish(user_id="", view=home_view_spec()))

    expected = example("views.publish.error.invalid_arguments")["body"]
    assert error.response.data == expected


def test_latest_home_view_is_served_by_the_emulator_route(client, emulator):
    client.views_publish(user_id="U0CUST1", view=home_view_spec())
    spec = {**home_view_spec(), "blocks": [{"type": "divider"}]}
    client.views_publish(user_id="U0CUST1", view=spec)

    status, _, raw = http_request(emulator, "GET", "/_emulator/home/U0CUST1")
    missing, _, _ = http_request(emulator, "GET", "/_emulator/home/U0NOBODY")

    assert status == 200
    assert json.loads(raw)["blocks"] == [{"type": "divider"}]
    assert emulator.home_view("U0CUST1") == json.loads(raw)
    assert missing == 404


def test_open_push_and_update_return_views_with_ids(client):
    modal = {"type": "modal", "title": {"type": "plain_text", "text": "Adjust"}}

    opened = client.views_open(trigger_id="1.2.abc", view=modal)["view"]
    pushed = client.views_push(trigger_id="1.2.def", view=modal)["view"]
    updated = client.views_update(
        view_id=opened["id"], view={**modal, "blocks": [{"type": "divider"}]}
    )["view"]

    assert opened["id"].startswith("V")
    assert pushed["id"] != opened["id"]
    assert updated["id"] == opened["id"]
    assert updated["blocks"] == [{"type": "divider"}]


def test_update_with_a_stale_hash_is_hash_conflict(client):
    modal = {"type": "modal", "title": {"type": "plain_text", "text": "Adjust"}}
    view = client.views_open(trigger_id="1.2.abc", view=modal)["view"]
    client.views_update(view_id=view["id"], view=modal)

    error = slack_error(
        lambda: client.views_update(view_id=view["id"], view=modal, hash=view["hash"])
    )

    assert error.response.data == {"ok": False, "error": "hash_conflict"}


def test_open_without_trigger_id_is_invalid_arguments(client):
    params = {"view": json.dumps({"type": "modal"})}

    error = slack_error(lambda: client.api_call("views.open", params=params))

    assert error.response["error"] == "invalid_arguments"


# Files


def test_files_upload_v2_round_trips_through_the_upload_url(client, emulator):
    content = "customer,ltv\nU0CUST1,4210.00\n"

    response = client.files_upload_v2(
        channel="C0SUPPORT",
        content=content,
        filename="ltv.csv",
        title="LTV export",
        initial_comment="Here is the export",
    )

    assert response["file"]["name"] == "ltv.csv"
    assert response["file"]["title"] == "LTV export"
    (stored,) = emulator.uploaded_files()
    assert stored["content"] == content.encode()
    (message,) = client.conversations_history(channel="C0SUPPORT")["messages"]
    assert message["text"] == "Here is the export"
    assert message["files"][0]["id"] == response["file"]["id"]
    methods = [call["method"] for call in emulator.calls()]
    assert methods[:3] == [
        "files.getUploadURLExternal",
        "file_upload",
        "files.completeUploadExternal",
    ]


def test_complete_upload_of_a_file_never_uploaded_is_file_not_found(client):
    url = client.files_getUploadURLExternal(filename="a.txt", length=3)

    error = slack_error(
        lambda: client.files_completeUploadExternal(files=[{"id": url["file_id"]}])
    )

    assert error.response.data == {"ok": False, "error": "file_not_found"}


# Unknown methods


def test_unknown_method_is_unknown_method_with_http_200(client):
    error = slack_error(lambda: client.api_call("ltv.nothing"))

    assert error.response.status_code == 200
    assert error.response["error"] == "unknown_method"


# Faults


def test_ratelimited_fault_matches_the_example_with_retry_after(client, emulator):
    emulator.inject_fault("chat.postMessage", http_status=429, retry_after=30)

    error = slack_error(lambda: client.chat_postMessage(channel="C1", text="hi"))

    expected = example("chat.postMessage.error.ratelimited")
    assert error.response.status_code == expected["http_status"] == 429
    assert error.response.data == expected["body"]
    assert error.response.headers["Retry-After"] == "30"
    assert error.response.headers["retry-after"] == "30"


def test_two_ratelimited_calls_in_a_row_then_success(client, emulator):
    emulator.inject_fault("chat.postMessage", http_status=429, times=2)

    errors = [
        slack_error(lambda: client.chat_postMessage(channel="C1", text="hi"))
        for _ in range(2)
    ]
    response = client.chat_postMessage(channel="C1", text="hi")

    assert [e.response.status_code for e in errors] == [429, 429]
    assert [e.response.headers["Retry-After"] for e in errors] == ["1", "1"]
    assert response["ok"] is True


def test_slack_sdk_rate_limit_retry_handler_recovers(emulator):
    handler = RateLimitErrorRetryHandler(max_retry_count=1)
    client = WebClient(token=TOKEN, base_url=emulator.api_url, retry_handlers=[handler])
    emulator.inject_fault("chat.postMessage", http_status=429, retry_after=0)

    response = client.chat_postMessage(channel="C1", text="hi")

    assert response["ok"] is True
    outcomes = [
        c["response"]["http_status"] for c in emulator.calls("chat.postMessage")
    ]
    assert outcomes == [429, 200]


def test_gateway_error_fault_returns_an_html_body(client, emulator):
    emulator.inject_fault("users.info", http_status=503)

    error = slack_error(lambda: client.users_info(user="U0CUST1"))

    assert error.response.status_code == 503
    assert "non-JSON" in error.response["error"]
    assert "503 Service Unavailable" in error.response["error"]


def test_error_fault_answers_ok_false_with_http_200(client, emulator):
    emulator.inject_fault("conversations.open", error="user_not_found")

    error = slack_error(lambda: client.conversations_open(users="U0CUST1"))

    assert error.response.status_code == 200
    assert error.response.data == {"ok": False, "error": "user_not_found"}
    assert client.conversations_open(users="U0CUST1")["ok"] is True


def test_delay_fault_longer_than_the_client_timeout_times_out(emulator):
    impatient = WebClient(token=TOKEN, base_url=emulator.api_url, timeout=0.2)
    emulator.inject_fault("auth.test", delay_seconds=5.0)

    with pytest.raises(TimeoutError):
        impatient.auth_test()

    started = time.monotonic()
    emulator.stop()
    assert time.monotonic() - started < 2.0


def test_short_delay_fault_still_answers(client, emulator):
    emulator.inject_fault("auth.test", delay_seconds=0.05)

    response = client.auth_test()

    assert response["ok"] is True


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"times": 0}, "times=0"),
        ({"http_status": 700}, "http_status=700"),
        ({"delay_seconds": -1.0}, "delay_seconds=-1.0"),
        ({}, "an error name, a non-200 http_status or a delay"),
    ],
)
def test_inject_fault_rejects_settings_naming_the_value(emulator, options, message):
    with pytest.raises(EmulatorConfigError, match=message):
        emulator.inject_fault("auth.test", **options)


# Emulator routes


def test_calls_route_lists_every_call_and_filters_by_method(client, emulator):
    client.auth_test()
    client.chat_postMessage(channel="C1", text="hi")

    status, _, raw = http_request(emulator, "GET", "/_emulator/calls")
    _, _, filtered = http_request(
        emulator, "GET", "/_emulator/calls?method=chat.postMessage"
    )

    assert status == 200
    assert [c["method"] for c in json.loads(raw)] == ["auth.test", "chat.postMessage"]
    assert [c["method"] for c in json.loads(filtered)] == ["chat.postMessage"]
    assert TOKEN.encode() not in raw


def test_delete_calls_route_clears_the_log(client, emulator):
    client.auth_test()

    status, _, _ = http_request(emulator, "DELETE", "/_emulator/calls")

    assert status == 200
    assert emulator.calls() == []


def test_users_route_adds_a_user(client, emulator):
    status, body = post_json(
        emulator, "/_emulator/users", {"user_id": "U0CUST9", "name": "sam"}
    )

    assert status == 200
    assert body["user"]["id"] == "U0CUST9"
    assert client.users_info(user="U0CUST9")["user"]["name"] == "sam"


def test_users_route_rejects_a_malformed_id_with_400(emulator):
    status, body = post_json(
        emulator, "/_emulator/users", {"user_id": "x", "name": "x"}
    )

    assert status == 400
    assert "user_id='x'" in body["error"]


def test_faults_route_injects_a_fault(client, emulator):
    post_json(
        emulator,
        "/_emulator/faults",
        {"method": "chat.postMessage", "error": "not_in_channel"},
    )

    error = slack_error(lambda: client.chat_postMessage(channel="C1", text="hi"))

    assert error.response["error"] == "not_in_channel"


def test_response_url_posts_are_recorded(emulator):
    url = emulator.response_url("ltv")

    response = WebhookClient(url).send(text="Done", response_type="ephemeral")

    assert response.status_code == 200
    assert json.loads(response.body) == {"ok": True}
    (call,) = emulator.calls("response_url")
    assert call["args"] == {"text": "Done", "response_type": "ephemeral"}
    assert call["path"] == "/_emulator/response/ltv"


def test_unknown_emulator_route_is_404(emulator):
    status, _, _ = http_request(emulator, "GET", "/_emulator/nothing")

    assert status == 404


# Logging and the command line


def test_each_call_is_logged_once_without_the_token(client, caplog):
    caplog.set_level(logging.INFO, logger="bot.emulator")

    client.chat_postMessage(channel="C1", text="hi")

    lines = [
        r.getMessage() for r in caplog.records if "emulator.call" in r.getMessage()
    ]
    assert lines == [
        "emulator.call method=chat.postMessage status=200 ok=True error=None"
    ]
    assert TOKEN not in caplog.text


def test_main_refuses_a_non_loopback_host(capsys):
    with pytest.raises(SystemExit) as caught:
        main(["--host", "0.0.0.0"])  # noqa: S104 - the refusal is under test

    assert caught.value.code == 2
    assert "refusing to listen on host '0.0.0.0'" in capsys.readouterr().err


def test_main_serves_until_stopped_and_prints_the_api_url(capsys):
    stop = threading.Event()
    stop.set()

    code = main(["--port", "0"], stop=stop)

    assert code == 0
    out = capsys.readouterr().out
    assert "http://127.0.0.1:" in out
    assert "/api/" in out
