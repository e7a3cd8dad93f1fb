"""Loyalty tiers as people see them, from the loyalty strategy's thresholds."""

from __future__ import annotations

from bot.runtime import BotContext
from bot.views import TIERS, Tiers
from ltv.money import currency_exponent

LOYALTY_TIERS = ("bronze", "silver", "gold")


def tier_thresholds(ctx: BotContext, tenant: str) -> Tiers:
    """The admin-set bronze/silver/gold thresholds in minor units, lowest first.

    The same numbers decide the loyalty strategy's tier messages, so the card,
    App Home and stats never disagree with what customers are told.
    """
    if ctx.strategies is None:
        return TIERS
    settings = ctx.strategies.configs.settings(tenant, "loyalty")
    currency = ctx.configs.load(tenant).base_currency
    scale = 10 ** currency_exponent(currency)
    tiers = [(TIERS[0][0], 0)]
    tiers += [
        (name.title(), round(float(settings[name]) * scale)) for name in LOYALTY_TIERS
    ]
    return tuple(sorted(tiers, key=lambda tier: tier[1]))
