"""A customer who finds the /ltv command gets no data and changes nothing."""

from __future__ import annotations

import pytest

from bot.commands import REFUSAL
from tests.reliability.replaying import snapshot
from tests.scenarios.conftest import AGENT, CUSTOMER

OTHER_CUSTOMER = "UCUSTZ0009"


@pytest.mark.parametrize(
    "text",
    [
        f"<@{CUSTOMER}>",
        f"<@{OTHER_CUSTOMER}>",
        f"<@{AGENT}>",
        f"purchase <@{CUSTOMER}> 50",
        f"purchase <@{OTHER_CUSTOMER}> $1,000.00 USD gift",
        f"PURCHASE <@{CUSTOMER}|casey> 5",
    ],
)
def test_a_customer_gets_the_refusal_and_nothing_is_written(bot, text):
    bot.order_notice(f"Order 1 paid: $50.00 by <@{CUSTOMER}>", ts="1700000000.000100")
    before = snapshot(bot.runtime.redis, bot.tenant)

    reply = bot.command(CUSTOMER, text).json()

    assert reply == {"response_type": "ephemeral", "text": REFUSAL}
    assert snapshot(bot.runtime.redis, bot.tenant) == before
