"""The entry point's logging keeps the Slack libraries' request bodies out."""

import logging

import pytest

from bot.cli import LibraryChatterFilter


def record(name: str, level: int) -> logging.LogRecord:
    return logging.LogRecord(
        name, level, __file__, 1, "body: customer text", None, None
    )


@pytest.mark.parametrize(
    "name", ["slack_bolt.App:RequestVerification", "slack_bolt", "slack_sdk.web"]
)
def test_library_info_lines_are_dropped_even_from_bolts_own_loggers(name):
    assert LibraryChatterFilter().filter(record(name, logging.INFO)) is False


def test_library_warnings_and_the_bots_own_lines_are_kept():
    chatter = LibraryChatterFilter()

    assert chatter.filter(record("slack_bolt.App", logging.WARNING)) is True
    assert chatter.filter(record("bot.listeners", logging.INFO)) is True
