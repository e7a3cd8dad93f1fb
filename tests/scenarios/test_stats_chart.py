"""`/ltv stats chart`: a PNG uploaded (files upload v2) into the asking agent's DM."""

from __future__ import annotations

from bot.stats_chart import PNG_SIGNATURE, is_stats_chart_request
from tests.scenarios.conftest import AGENT, CUSTOMER


def test_an_agent_gets_the_chart_as_a_png_in_a_direct_message(bot):
    bot.order_notice(f"Order 1 paid: $29.33 by <@{CUSTOMER}>", ts="1700000001.000100")

    reply = bot.command(AGENT, "stats chart")

    assert reply.status == 200
    assert "direct message" in reply.json()["text"]
    files = bot.emulator.uploaded_files()
    assert len(files) == 1
    assert files[0]["content"].startswith(PNG_SIGNATURE)
    assert len(files[0]["content"]) > 5_000
    (dm,) = files[0]["channels"]
    assert dm.startswith("D")
    assert len(bot.emulator.calls("files.completeUploadExternal")) == 1


def test_a_customer_gets_a_refusal_and_no_chart(bot):
    reply = bot.command(CUSTOMER, "stats chart")

    assert "only shown to the support team" in reply.json()["text"]
    assert bot.emulator.uploaded_files() == []


def test_only_the_exact_words_ask_for_the_chart():
    assert is_stats_chart_request("Stats  CHART")
    assert not is_stats_chart_request("stats")
    assert not is_stats_chart_request("stats chart now")
