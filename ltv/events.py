"""Typed customer events, each with the idempotency keys that make replays harmless."""

from __future__ import annotations

import json
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ltv.keys import TENANT_ID, USER_ID, digest
from ltv.money import Money

# Above this a number of minor units stops being exact in Redis's Lua (doubles).
MAX_MINOR_UNITS = 10**15

InteractionKind = Literal["message", "reply", "join", "reaction", "file", "mention"]


class CustomerEvent(BaseModel):
    """Who, when and under which idempotency key; the base of every event."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    tenant: str = Field(pattern=TENANT_ID.pattern)
    user: str = Field(pattern=USER_ID.pattern)
    at_ms: int = Field(ge=0)
    event_id: str = Field(min_length=1, max_length=200)
    user_team: str | None = Field(default=None, pattern=TENANT_ID.pattern)

    @property
    def event_key(self) -> str:
        """The idempotency key stored in Redis: a digest, so no free text in keys."""
        return "e:" + digest(self.event_id)

    def extra_json(self) -> str:
        return json.dumps({"user_team": self.user_team}, separators=(",", ":"))


class Interaction(CustomerEvent):
    """A message, reply, reaction, file share or join by a customer."""

    kind: InteractionKind
    message_key: str | None = None

    @property
    def message_dedupe_key(self) -> str:
        return "m:" + digest(self.message_key) if self.message_key else ""


class MoneyEvent(CustomerEvent):
    """A purchase or refund: the original amount and its base-currency value."""

    source_ref: str = Field(min_length=1, max_length=300)
    amount: Money
    base_amount_minor: int = Field(ge=0, lt=MAX_MINOR_UNITS)
    order_id: str | None = Field(default=None, min_length=1, max_length=128)
    note: str | None = Field(default=None, max_length=500)

    @field_validator("amount")
    @classmethod
    def _amount_is_not_negative(cls, value: Money) -> Money:
        if value.minor < 0 or value.minor >= MAX_MINOR_UNITS:
            raise ValueError(
                f"amount must be between 0 and {MAX_MINOR_UNITS} minor units, "
                f"got {value.minor}"
            )
        return value

    @property
    def ref(self) -> str:
        return digest(self.source_ref)

    @property
    def order_digest(self) -> str:
        """A purchase carries its order id; a refund names the order it refunds."""
        return digest(self.order_id) if self.order_id else ""

    def extra_json(self) -> str:
        payload = {
            "user_team": self.user_team,
            "note": self.note,
            "order_id": self.order_id,
            "source_ref": self.source_ref,
        }
        return json.dumps(payload, separators=(",", ":"), ensure_ascii=False)


class Purchase(MoneyEvent):
    """A purchase; a second event with the same source_ref replaces the amount."""


class Refund(MoneyEvent):
    """Money returned to the customer, optionally against a named order."""


class Void(CustomerEvent):
    """The purchase or refund read from a message is cancelled (message deleted)."""

    source_ref: str = Field(min_length=1, max_length=300)

    @property
    def ref(self) -> str:
        return digest(self.source_ref)


AnyEvent = Interaction | Purchase | Refund | Void
