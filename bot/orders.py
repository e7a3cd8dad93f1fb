"""Order notifications posted into orders channels, read as purchases and refunds.

The built-in patterns read messages such as::

    Order 1042 paid: $29.33 by <@U0123ABCD>
    Order 1042 refunded: $5.00 to <@U0123ABCD>

The amount is anything the money parser reads; the customer is a Slack mention.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

ORDER_PAID = re.compile(
    r"^\s*order\s+#?(?P<order>[\w-]{1,64})\s+paid:?\s+(?P<amount>.{1,64}?)\s+"
    r"by\s+<@(?P<user>[UW][A-Z0-9]{2,31})(?:\|[^>]*)?>\s*\.?\s*$",
    re.IGNORECASE,
)
ORDER_REFUNDED = re.compile(
    r"^\s*order\s+#?(?P<order>[\w-]{1,64})\s+refunded:?\s+(?P<amount>.{1,64}?)\s+"
    r"(?:to|for)\s+<@(?P<user>[UW][A-Z0-9]{2,31})(?:\|[^>]*)?>\s*\.?\s*$",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class OrderNotice:
    kind: Literal["purchase", "refund"]
    order_id: str
    amount_text: str
    user: str


def read_order_notice(text: str) -> OrderNotice | None:
    """The purchase or refund a notification describes, or None if it is not one."""
    if not text or len(text) > 1000:
        return None
    for kind, pattern in (("purchase", ORDER_PAID), ("refund", ORDER_REFUNDED)):
        match = pattern.match(text)
        if match:
            return OrderNotice(
                kind=kind,  # type: ignore[arg-type]
                order_id=match["order"],
                amount_text=match["amount"],
                user=match["user"],
            )
    return None
