"""The admins' order-pattern language and reading amounts out of messages."""

from __future__ import annotations

import pytest

from bot.orders import (
    OrderPattern,
    OrderPatternError,
    compile_template,
    customer_reference,
    read_custom_notice,
)
from bot.shortcuts import amount_in_text
from ltv.workspace import WorkspaceConfig


def test_a_template_reads_order_amount_and_customer():
    patterns = [OrderPattern("purchase", "Order #{order} — {amount} from {customer}")]

    notice, customer = read_custom_notice(
        "order  #A-17 — $1,234.50 from <@U0123ABCDE>.", patterns
    )

    assert notice is not None
    assert (notice.order_id, notice.amount_text) == ("A-17", "$1,234.50")
    assert customer == "<@U0123ABCDE>"


def test_literal_text_is_not_a_regular_expression():
    pattern = compile_template("Paid (cash) {amount} by {customer}")

    assert pattern.match("paid (cash) $5 by U0123ABCDE")
    assert not pattern.match("paid cash $5 by U0123ABCDE")


def test_a_star_matches_any_text():
    pattern = compile_template("Sale * {amount} * {customer}")

    assert pattern.match("Sale via the web shop: $5 for buyer U0123ABCDE")


@pytest.mark.parametrize(
    ("template", "problem"),
    [
        ("", "must be 1 to 200 characters"),
        ("{amount}", "needs {customer} exactly once"),
        ("{customer}", "needs {amount} exactly once"),
        ("{order} {order} {amount} {customer}", "holds {order} more than once"),
        ("{amount} {customer} {when}", "unknown placeholder {when}"),
    ],
)
def test_bad_templates_say_what_is_wrong(template, problem):
    with pytest.raises(OrderPatternError) as caught:
        compile_template(template)

    assert problem in str(caught.value)
    assert isinstance(caught.value, ValueError)


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("<@U0123ABCDE>", ("U0123ABCDE", None)),
        ("<@W0123ABCDE|grace>", ("W0123ABCDE", None)),
        ("U0123ABCDE", ("U0123ABCDE", None)),
        ("<mailto:Mel@Example.com|Mel@Example.com>", (None, "mel@example.com")),
        ("mel@example.com", (None, "mel@example.com")),
        ("casey", (None, None)),
    ],
)
def test_the_customer_is_a_mention_an_id_or_an_email(written, expected):
    assert customer_reference(written) == expected


@pytest.mark.parametrize(
    ("text", "amount"),
    [
        ("I paid $40 today", "$40.00"),
        ("that was 1.234,50 € in total", "€1,234.50"),
        ("USD 12.5 for the mug", "$12.50"),
        ("order 3 arrived, thanks", "$3.00"),
        ("no amount here", None),
        ("refund of -$20.00 please", None),
    ],
)
def test_the_first_readable_amount_of_a_message_prefills_the_form(text, amount):
    assert amount_in_text(text, WorkspaceConfig()) == amount
