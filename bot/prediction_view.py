"""The "model estimate" section of the customer card, from the fitted model."""

from __future__ import annotations

import logging
from typing import Any

from bot.runtime import BotContext
from ltv.clock import to_datetime
from ltv.errors import LtvError
from ltv.model_store import CustomerPrediction, ModelStore
from ltv.money import Money, format_money

logger = logging.getLogger(__name__)

MODEL_MARK = "model estimate"
NO_ESTIMATE = "the model could not estimate this customer"


def model_estimate_blocks(
    ctx: BotContext, tenant: str, user: str, currency: str
) -> list[dict[str, Any]]:
    """A divider and one section: the prediction, or why there is none."""
    models = ModelStore(ctx.store.redis, clock=ctx.store.clock)
    try:
        prediction = models.predict(tenant, user)
    except (LtvError, ValueError) as exc:
        # The card's exact figures stay useful when the estimate cannot be made.
        logger.warning(
            "model estimate failed tenant=%s user=%s error=%s",
            tenant,
            user,
            type(exc).__name__,
        )
        prediction = CustomerPrediction(reason=NO_ESTIMATE)
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
