"""The "model estimate" section of the customer card, from the fitted model."""

from __future__ import annotations

from typing import Any

from bot.runtime import BotContext
from ltv.clock import to_datetime
from ltv.model_store import CustomerPrediction, ModelStore
from ltv.money import Money, format_money

MODEL_MARK = "model estimate"


def model_estimate_blocks(
    ctx: BotContext, tenant: str, user: str, currency: str
) -> list[dict[str, Any]]:
    """A divider and one section: the prediction, or why there is none."""
    models = ModelStore(ctx.store.redis, clock=ctx.store.clock)
    prediction = models.predict(tenant, user)
    return [{"type": "divider"}, _section(prediction, currency)]


def _section(prediction: CustomerPrediction, currency: str) -> dict[str, Any]:
    heading = f"*Predicted value* _({MODEL_MARK})_"
    if not prediction.is_available:
        return _mrkdwn(f"{heading}\n{prediction.reason}.")
    lines = [
        heading,
        f"P(active): {prediction.probability_active or 0:.0%}",
        f"Expected purchases in the next {prediction.horizon_days} days: "
        f"{prediction.expected_purchases or 0:.2f}",
    ]
    if prediction.discounted_clv_minor is not None:
        spend = _estimate_text(prediction.expected_spend_minor or 0.0, currency)
        clv = _estimate_text(prediction.discounted_clv_minor, currency)
        lines.append(f"Expected spend: {spend}; discounted CLV: {clv}")
    if prediction.fitted_at_s is not None:
        fitted = to_datetime(prediction.fitted_at_s).strftime("%Y-%m-%d")
        lines.append(f"Model fitted {fitted}")
    return _mrkdwn("\n".join(lines))


def _estimate_text(minor: float, currency: str) -> str:
    """An estimate rounded to a whole minor unit, for display only."""
    return format_money(Money(round(minor), currency))


def _mrkdwn(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}
