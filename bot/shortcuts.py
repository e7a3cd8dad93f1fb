"""Logging purchases from the conversation: the message shortcut and its modal.

The shortcut opens a modal prefilled with the message's author and the first
amount found in its text. A purchase logged from a message is keyed by that
message, so logging the same message twice records it once.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from bot.commands import log_money_event
from bot.runtime import BotContext
from bot.translate import decode_text, message_key
from ltv.errors import LtvError
from ltv.events import Purchase
from ltv.money import format_money, parse_amount
from ltv.workspace import WorkspaceConfig

logger = logging.getLogger(__name__)

PURCHASE_CALLBACK = "purchase_modal"
SHORTCUT_CALLBACK = "log_purchase"
CUSTOMER_BLOCK, AMOUNT_BLOCK, NOTE_BLOCK = "customer", "amount", "note"
MAX_SCANNED_TOKENS = 200
TRAILING_PUNCTUATION = ",.;:!?\"'"


def amount_candidates(text: str) -> list[str]:
    """Pieces of text around each number: with the next word, the previous, alone."""
    tokens = [t.strip(TRAILING_PUNCTUATION) for t in text.split()[:MAX_SCANNED_TOKENS]]
    candidates = []
    for i, token in enumerate(tokens):
        if not any(c.isdigit() for c in token):
            continue
        if i + 1 < len(tokens):
            candidates.append(f"{token} {tokens[i + 1]}")
        if i > 0:
            candidates.append(f"{tokens[i - 1]} {token}")
        candidates.append(token)
    return candidates


def amount_in_text(text: str, config: WorkspaceConfig) -> str | None:
    """The first piece of a message the money parser reads, shown canonically."""
    for candidate in amount_candidates(text):
        try:
            amount = parse_amount(candidate, config.base_currency)
        except LtvError:
            continue
        if amount.minor > 0:
            return format_money(amount)
    return None


def purchase_modal(
    *,
    user: str | None,
    amount_text: str | None,
    metadata: dict[str, str],
    note: str | None = None,
) -> dict[str, Any]:
    customer: dict[str, Any] = {"type": "users_select", "action_id": CUSTOMER_BLOCK}
    if user:
        customer["initial_user"] = user
    amount: dict[str, Any] = {
        "type": "plain_text_input",
        "action_id": AMOUNT_BLOCK,
        "placeholder": {"type": "plain_text", "text": "$29.99, 50 EUR, ¥500"},
    }
    if amount_text:
        amount["initial_value"] = amount_text
    note_input: dict[str, Any] = {
        "type": "plain_text_input",
        "action_id": NOTE_BLOCK,
        "max_length": 500,
    }
    if note:
        note_input["initial_value"] = note[:500]
    return {
        "type": "modal",
        "callback_id": PURCHASE_CALLBACK,
        "title": {"type": "plain_text", "text": "Log a purchase"},
        "submit": {"type": "plain_text", "text": "Log it"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "private_metadata": json.dumps(metadata),
        "blocks": [
            _input(CUSTOMER_BLOCK, "Customer", customer),
            _input(AMOUNT_BLOCK, "Amount", amount),
            {**_input(NOTE_BLOCK, "Note", note_input), "optional": True},
        ],
    }


def _input(block_id: str, label: str, element: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "input",
        "block_id": block_id,
        "label": {"type": "plain_text", "text": label},
        "element": element,
    }


def open_purchase_modal(
    ctx: BotContext,
    tenant: str,
    trigger_id: str,
    *,
    user: str | None,
    amount_text: str | None = None,
    metadata: dict[str, str] | None = None,
) -> None:
    view = purchase_modal(
        user=user, amount_text=amount_text, metadata=metadata or {"tenant": tenant}
    )
    ctx.roles.client.views_open(trigger_id=trigger_id, view=view)


def open_from_message(ctx: BotContext, tenant: str, body: dict[str, Any]) -> None:
    """The message shortcut: author and amount of the message, prefilled."""
    message = body.get("message") or {}
    channel = str((body.get("channel") or {}).get("id") or "")
    ts = str(message.get("ts") or "")
    author = message.get("user")
    amount = amount_in_text(decode_text(message.get("text")), ctx.configs.load(tenant))
    metadata = {"tenant": tenant, "channel": channel, "ts": ts}
    open_purchase_modal(
        ctx,
        tenant,
        str(body.get("trigger_id") or ""),
        user=author if isinstance(author, str) else None,
        amount_text=amount,
        metadata=metadata,
    )


def submitted_values(view: dict[str, Any]) -> dict[str, str]:
    values = (view.get("state") or {}).get("values") or {}
    customer = (values.get(CUSTOMER_BLOCK) or {}).get(CUSTOMER_BLOCK) or {}
    amount = (values.get(AMOUNT_BLOCK) or {}).get(AMOUNT_BLOCK) or {}
    note = (values.get(NOTE_BLOCK) or {}).get(NOTE_BLOCK) or {}
    return {
        "user": str(customer.get("selected_user") or ""),
        "amount": str(amount.get("value") or ""),
        "note": str(note.get("value") or ""),
    }


def source_of(view: dict[str, Any]) -> str:
    """The message the purchase was read from, or the modal itself."""
    try:
        metadata = json.loads(view.get("private_metadata") or "{}")
    except ValueError:
        metadata = {}
    channel, ts = metadata.get("channel"), metadata.get("ts")
    if channel and ts:
        return message_key(str(channel), str(ts))
    return f"modal:{view.get('id') or ''}"


def submit_purchase(
    ctx: BotContext, tenant: str, agent: str, view: dict[str, Any]
) -> dict[str, Any] | None:
    """None when logged; otherwise Slack's field errors for the modal."""
    values = submitted_values(view)
    if not values["user"]:
        return {CUSTOMER_BLOCK: "Pick the customer who bought."}
    outcome = log_money_event(
        ctx,
        tenant,
        Purchase,
        user=values["user"],
        amount_text=values["amount"],
        source_ref=source_of(view),
        note=values["note"] or None,
    )
    if outcome.startswith("Purchase not logged"):
        return {AMOUNT_BLOCK: outcome.removeprefix("Purchase not logged: ")[:150]}
    notify_agent(ctx, agent, outcome)
    return None


def notify_agent(ctx: BotContext, agent: str, text: str) -> None:
    """Tell the agent what happened, in their DM with the app."""
    opened = ctx.roles.client.conversations_open(users=agent)
    channel = str(opened["channel"]["id"])
    ctx.roles.client.chat_postMessage(channel=channel, text=text)
