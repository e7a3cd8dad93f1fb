"""The key chart as a PNG (a bare matplotlib Figure: Agg, no GUI), sent to an agent.

`post_stats_chart` renders revenue and active customers by month and uploads
it with Slack's files upload v2 (files.getUploadURLExternal, then
files.completeUploadExternal) into the agent's direct message with the bot, so
only the agent who asked sees the workspace's figures.
"""

from __future__ import annotations

import io
import logging
from typing import Any

from matplotlib.figure import Figure
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.commands import REFUSAL, ephemeral
from bot.report import monthly_series, purchase_records
from bot.runtime import BotContext
from ltv.errors import LtvError
from ltv.store import LtvStore

logger = logging.getLogger(__name__)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
FILENAME = "ltv-revenue-by-month.png"


class ChartPostError(LtvError, RuntimeError):
    """Slack refused the chart upload."""


def render_monthly_png(store: LtvStore, tenant: str, currency: str) -> bytes:
    """Revenue (bars) and active customers (line) by month, as PNG bytes."""
    series = monthly_series(purchase_records(store, tenant))
    figure = Figure(figsize=(8, 3.6), dpi=100)
    axes = figure.add_subplot()
    months = series["labels"] or ["no purchases yet"]
    axes.bar(range(len(months)), series["revenue"] or [0], color="#2a9d5c")
    axes.set_ylabel(f"revenue ({currency})")
    axes.set_xticks(range(len(months)), months, rotation=60, fontsize=7)
    active = axes.twinx()
    active.plot(range(len(months)), series["active"] or [0], color="#d0774a")
    active.set_ylabel("active customers")
    axes.set_title("Revenue and active customers by month")
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def post_stats_chart(
    client: WebClient,
    channel: str,
    user: str,
    tenant: str,
    store: LtvStore,
    *,
    currency: str = "USD",
) -> dict[str, Any]:
    """Upload the chart into the agent's DM; returns the uploaded file's record.

    ``channel`` is where the agent asked; the chart goes to the agent's DM
    instead, since a shared channel may hold customers.
    """
    png = render_monthly_png(store, tenant, currency)
    try:
        dm = client.conversations_open(users=user)["channel"]["id"]
        response = client.files_upload_v2(
            content=png,
            filename=FILENAME,
            title="Revenue and active customers by month",
            channel=dm,
            initial_comment=f"The chart you asked for in <#{channel}>.",
        )
    except SlackApiError as exc:
        raise ChartPostError(
            f"could not post the chart: {exc.response.get('error')}"
        ) from exc
    logger.info("stats chart posted tenant=%s user=%s", tenant, user)
    return dict(response["files"][0]) if response.get("files") else {}


def is_stats_chart_request(text: str) -> bool:
    """`/ltv stats chart`, in any case."""
    return [token.lower() for token in text.split()] == ["stats", "chart"]


def answer_stats_chart(
    ctx: BotContext, client: WebClient, *, tenant: str, caller: str, channel: str
) -> dict[str, Any]:
    """The ephemeral reply to `/ltv stats chart`; agents and admins only."""
    if not ctx.roles.role_of(tenant, caller).sees_customer_data:
        return ephemeral(REFUSAL)
    currency = ctx.configs.load(tenant).base_currency
    try:
        post_stats_chart(client, channel, caller, tenant, ctx.store, currency=currency)
    except ChartPostError:
        logger.warning("stats chart not posted tenant=%s user=%s", tenant, caller)
        return ephemeral("I couldn't send the chart just now; please try again.")
    return ephemeral("I've sent you the chart in a direct message.")


def stats_chart_reply(
    ctx: BotContext, client: WebClient, body: dict[str, Any], context: Any
) -> dict[str, Any]:
    """The /ltv listener's entry: reads the ids from the slash command's body."""
    from bot.listeners import event_tenant

    return answer_stats_chart(
        ctx,
        client,
        tenant=event_tenant(body, context),
        caller=str(body.get("user_id") or ""),
        channel=str(body.get("channel_id") or ""),
    )
