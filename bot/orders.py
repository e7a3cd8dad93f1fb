"""Order notifications posted into orders channels, read as purchases and refunds.

The built-in patterns read messages such as::

    Order 1042 paid: $29.33 by <@U0123ABCD>
    Order 1042 refunded: $5.00 to <@U0123ABCD>

The amount is anything the money parser reads; the customer is a Slack mention.
Admins add their own patterns for other integrations (see the template
language below); the customer may then also be a user id or an email address.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from ltv.errors import LtvError

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


# Admins' own patterns, in a small template language:
#   {order}     the order id (letters, digits, - and _), optional
#   {amount}    anything the money parser reads, required
#   {customer}  a mention, a Slack user id or an email address, required
#   *           any text
# Everything else is literal, matched case-insensitively; a run of spaces
# matches any run of whitespace. A pattern holds each placeholder at most once.
PLACEHOLDERS = {
    "order": r"#?(?P<order>[\w-]{1,64})",
    "amount": r"(?P<amount>.{1,64}?)",
    "customer": r"(?P<customer>\S{2,254}?)",
}
PLACEHOLDER = re.compile(r"\{(\w+)\}")
MAX_PATTERN_CHARS = 200
MAX_PATTERNS = 20
EMAIL = re.compile(r"^<?(?:mailto:)?(?P<email>[^\s@<>|]+@[^\s@<>|]+\.[^\s@<>|]+)")
CUSTOMER_ID = re.compile(r"^<?@?(?P<user>[UW][A-Z0-9]{8,31})(?:\|[^>]*)?>?$")


class OrderPatternError(LtvError, ValueError):
    """An admin's order pattern is not valid in the template language."""

    def __init__(self, template: str, problem: str) -> None:
        self.template = template
        super().__init__(f"pattern {template[:80]!r} {problem}")


@dataclass(frozen=True, slots=True)
class OrderPattern:
    kind: Literal["purchase", "refund"]
    template: str

    def compile(self) -> re.Pattern[str]:
        return compile_template(self.template)


def compile_template(template: str) -> re.Pattern[str]:
    """The template as a regular expression; OrderPatternError says what is wrong."""
    if not template.strip() or len(template) > MAX_PATTERN_CHARS:
        raise OrderPatternError(
            template, f"must be 1 to {MAX_PATTERN_CHARS} characters"
        )
    names = PLACEHOLDER.findall(template)
    unknown = sorted(set(names) - set(PLACEHOLDERS))
    if unknown:
        raise OrderPatternError(template, f"uses unknown placeholder {{{unknown[0]}}}")
    for name in ("amount", "customer"):
        if names.count(name) != 1:
            raise OrderPatternError(template, f"needs {{{name}}} exactly once")
    if names.count("order") > 1:
        raise OrderPatternError(template, "holds {order} more than once")
    parts = []
    for piece in re.split(r"(\{\w+\}|\*|\s+)", template.strip()):
        if not piece:
            continue
        if piece.startswith("{"):
            parts.append(PLACEHOLDERS[piece[1:-1]])
        elif piece == "*":
            parts.append(r".*?")
        elif piece.isspace():
            parts.append(r"\s+")
        else:
            parts.append(re.escape(piece))
    return re.compile(
        r"^\s*" + "".join(parts) + r"\s*\.?\s*$", re.IGNORECASE | re.DOTALL
    )


def read_custom_notice(
    text: str, patterns: list[OrderPattern]
) -> tuple[OrderNotice | None, str | None]:
    """The first pattern that matches; the customer is left as written."""
    if not text or len(text) > 1000:
        return None, None
    for pattern in patterns:
        match = pattern.compile().match(text)
        if match:
            notice = OrderNotice(
                kind=pattern.kind,
                order_id=match.groupdict().get("order") or "",
                amount_text=match["amount"],
                user="",
            )
            return notice, match["customer"]
    return None, None


def customer_reference(written: str) -> tuple[str | None, str | None]:
    """(user id, email) as written in a notice: a mention, an id or an email."""
    by_id = CUSTOMER_ID.match(written.strip())
    if by_id:
        return by_id["user"], None
    by_email = EMAIL.match(written.strip())
    if by_email:
        return None, by_email["email"].lower()
    return None, None
