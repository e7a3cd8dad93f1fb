"""What a message may say about its recipient: stored facts, formatted for people."""

from __future__ import annotations

import string
from datetime import UTC, datetime

from ltv.money import Money, currency_exponent, format_money
from ltv.store import LtvStore
from ltv.workspace import WorkspaceConfigStore
from strategies.config import StrategyConfigStore

CUSTOMER_FIELDS = frozenset({"ltv", "purchases", "last_purchase", "tier"})
TIERS = ("gold", "silver", "bronze")


def template_fields(template: str) -> set[str]:
    return {field for _, field, _, _ in string.Formatter().parse(template) if field}


class CustomerFacts:
    """A customer's LTV, purchases, last purchase and tier, read when asked for."""

    def __init__(
        self,
        store: LtvStore,
        *,
        workspaces: WorkspaceConfigStore,
        configs: StrategyConfigStore,
    ) -> None:
        self.store = store
        self.workspaces = workspaces
        self.configs = configs

    def for_template(self, tenant: str, user: str, template: str) -> dict[str, str]:
        if not template_fields(template) & CUSTOMER_FIELDS:
            return {}
        record = self.store.customer(tenant, user)
        if record is None:
            return {}
        workspace = self.workspaces.load(tenant)
        ltv_minor = self.store.breakdown(record, workspace.policy()).ltv_minor
        last = record.last_purchase_s
        return {
            "ltv": format_money(Money(ltv_minor, workspace.base_currency)),
            "purchases": str(record.purchases),
            "last_purchase": (
                datetime.fromtimestamp(last, tz=UTC).strftime("%-d %B %Y")
                if last
                else "none yet"
            ),
            "tier": self.tier_of(tenant, ltv_minor, workspace.base_currency) or "none",
        }

    def tier_of(self, tenant: str, ltv_minor: int, currency: str) -> str | None:
        settings = self.configs.settings(tenant, "loyalty")
        scale = 10 ** currency_exponent(currency)
        for tier in TIERS:
            if ltv_minor >= round(settings[tier] * scale):
                return tier
        return None
