"""Money in integer minor units of an ISO 4217 currency, and the one amount parser.

Amounts are never floats: a `Money` holds an int count of minor units (cents,
fils, yen) and an upper-case currency code. `parse_amount` is the only place
free text becomes money; it refuses what it cannot read for certain instead of
guessing. Exchange rates are exact fractions and conversions round half to even.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from types import MappingProxyType
from typing import Final, NamedTuple

from ltv.errors import AmountError, CurrencyError, InvalidRateError, MissingRateError

__all__ = [
    "CURRENCY_EXPONENTS",
    "MAX_ABS_MINOR",
    "MAX_TEXT_CHARS",
    "Money",
    "convert",
    "currency_exponent",
    "format_money",
    "format_plain",
    "parse_amount",
]

# Longer text is refused before it is read; no real amount needs more.
MAX_TEXT_CHARS: Final = 64

# The store keeps amounts in Redis Lua, whose numbers are doubles; below 10**15
# every count of minor units is exact there.
MAX_ABS_MINOR: Final = 10**15 - 1

_ZERO_DECIMAL_CODES = "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX VND VUV XAF XOF XPF"
_TWO_DECIMAL_CODES = (
    "AED ARS AUD BDT BGN BRL CAD CHF CNY COP CZK DKK EGP EUR GBP GHS HKD HUF IDR "
    "ILS INR KES KZT LKR MAD MXN MYR NGN NOK NZD PEN PHP PKR PLN QAR RON RUB SAR "
    "SEK SGD THB TRY TWD UAH USD ZAR"
)
_THREE_DECIMAL_CODES = "BHD IQD JOD KWD LYD OMR TND"

# Digits after the decimal mark for each supported code (the ISO 4217 exponent).
CURRENCY_EXPONENTS: Final[Mapping[str, int]] = MappingProxyType(
    {
        code: exponent
        for exponent, codes in (
            (0, _ZERO_DECIMAL_CODES),
            (2, _TWO_DECIMAL_CODES),
            (3, _THREE_DECIMAL_CODES),
        )
        for code in codes.split()
    }
)

# Currencies written with a bare "$" at home; "$" means one of these only when it
# is the default currency, and USD otherwise.
_DOLLAR_CURRENCIES: Final = frozenset(
    {"USD", "CAD", "AUD", "NZD", "HKD", "SGD", "TWD", "MXN", "ARS", "CLP", "COP"}
)

# The symbol format_money writes; codes without one are written after the digits.
_DISPLAY_SYMBOLS: Final[Mapping[str, str]] = MappingProxyType(
    {
        "USD": "$",
        "EUR": "€",
        "GBP": "£",
        "JPY": "¥",
        "INR": "₹",
        "KRW": "₩",
        "ILS": "₪",
        "VND": "₫",
        "PHP": "₱",
        "THB": "฿",
        "UAH": "₴",
        "RUB": "₽",
        "TRY": "₺",
        "NGN": "₦",
        "CAD": "CA$",
        "AUD": "A$",
        "NZD": "NZ$",
        "HKD": "HK$",
        "SGD": "S$",
        "BRL": "R$",
        "MXN": "MX$",
        "TWD": "NT$",
        "CNY": "CN¥",
    }
)

# A bare "$" is not in here: which dollar it means depends on the default currency.
_DOLLAR: Final = "$"
_SYMBOL_CODES: Final[Mapping[str, str]] = MappingProxyType(
    {
        **{
            symbol.upper(): code
            for code, symbol in _DISPLAY_SYMBOLS.items()
            if symbol != _DOLLAR
        },
        "US$": "USD",
        "C$": "CAD",
        "AU$": "AUD",
        "\uffe5": "JPY",
    }
)

_SYMBOL_PATTERN = "|".join(
    re.escape(symbol)
    for symbol in sorted([*_SYMBOL_CODES, _DOLLAR], key=len, reverse=True)
)
# Separators inside a number: "." and "," may be either mark; the rest only group.
_TOKEN_PATTERN: Final = re.compile(
    r"(?P<number>[0-9]+(?:[.,'\u2019 \u00a0\u202f\u2009][0-9]+)*)"
    r"|(?P<sign>[-\u2212])"
    rf"|(?P<symbol>{_SYMBOL_PATTERN})"
    r"|(?P<word>[^\W\d_]+)"
    r"|(?P<space>\s+)"
    r"|(?P<other>.)",
    re.IGNORECASE | re.DOTALL,
)
_GROUPING_ONLY: Final = " '"
_SAME_GROUPING: Final = str.maketrans({"\u00a0": " ", "\u202f": " ", "\u2009": " "})
_SAME_APOSTROPHE: Final = str.maketrans({"\u2019": "'"})
_CODE_PATTERN: Final = re.compile(r"[A-Za-z]{3}")
_NON_FINITE_WORDS: Final = frozenset({"NAN", "INF", "INFINITY"})
_RATE_TEXT_PATTERN: Final = re.compile(r"[0-9]{1,20}(?:\.[0-9]{1,20})?")
_MAX_RATE_MAGNITUDE: Final = 20


@dataclass(frozen=True, slots=True)
class Money:
    """An amount: int minor units of one upper-case ISO 4217 currency.

    `minor` is negative only where a sign was written (a refund, a correction).
    """

    minor: int
    currency: str

    def __post_init__(self) -> None:
        if isinstance(self.minor, bool) or not isinstance(self.minor, int):
            raise TypeError(
                f"Money.minor must be an int count of minor units, got "
                f"{type(self.minor).__name__} {self.minor!r}"
            )
        if _canonical_code(self.currency) != self.currency:
            raise CurrencyError(
                f'Money currency "{self.currency}" must be upper-case; expected '
                f'"{self.currency.upper()}"',
                currency=self.currency,
            )

    @property
    def is_negative(self) -> bool:
        return self.minor < 0

    def negate(self) -> Money:
        return Money(-self.minor, self.currency)

    def abs(self) -> Money:
        return Money(abs(self.minor), self.currency)

    def __add__(self, other: Money) -> Money:
        if not isinstance(other, Money):
            return NotImplemented
        self._require_same_currency(other, "add")
        return Money(self.minor + other.minor, self.currency)

    def __sub__(self, other: Money) -> Money:
        if not isinstance(other, Money):
            return NotImplemented
        self._require_same_currency(other, "subtract")
        return Money(self.minor - other.minor, self.currency)

    def _require_same_currency(self, other: Money, operation: str) -> None:
        if other.currency != self.currency:
            raise CurrencyError(
                f"cannot {operation} {format_plain(self)} and {format_plain(other)}; "
                f"expected amounts in one currency, so convert one first",
                currency=other.currency,
            )


def currency_exponent(code: str) -> int:
    """Digits after the decimal mark in `code`: 2 for USD, 0 for JPY, 3 for BHD.

    The code is matched case-insensitively; CurrencyError if it is malformed or
    not in CURRENCY_EXPONENTS.
    """
    return CURRENCY_EXPONENTS[_canonical_code(code)]


def _canonical_code(code: str) -> str:
    if not isinstance(code, str) or not _CODE_PATTERN.fullmatch(code):
        raise CurrencyError(
            f"currency code {code!r} is malformed; expected three letters such as USD",
            currency=str(code),
        )
    canonical = code.upper()
    if canonical not in CURRENCY_EXPONENTS:
        raise CurrencyError(
            f'currency code "{canonical}" is not a supported ISO 4217 code; '
            f"expected one such as USD, EUR or JPY",
            currency=canonical,
        )
    return canonical


class _Token(NamedTuple):
    kind: str
    value: str


class _Parts(NamedTuple):
    number: str
    is_negative: bool
    markers: tuple[str, ...]


def parse_amount(text: str, default_currency: str | None = None) -> Money:
    """Read text such as "$1,234.50", "1.234,50 €" or "($20.00)" as Money.

    The currency comes from a code or symbol in the text, else `default_currency`.
    A bare "$" is the default currency when that is a dollar currency, else USD.
    A number whose decimal mark cannot be told for certain is refused: see
    `_decimal_mark`. Raises AmountError (or CurrencyError for an unknown code).
    """
    default = None if default_currency is None else _canonical_code(default_currency)
    shown = _checked_text(text)
    body, is_parenthesized = _split_parentheses(shown)
    parts = _collect_parts(shown, _lex(shown, body), is_parenthesized)

    currency = _resolve_currency(shown, parts.markers, default)
    exponent = None if currency is None else CURRENCY_EXPONENTS[currency]
    whole, fraction = _read_number(shown, parts.number, exponent)
    if currency is None:
        raise AmountError(
            f'"{shown}" has no currency and no default currency is set; expected '
            f"a code or symbol, such as {shown} USD",
            text=shown,
        )

    minor = _to_minor(shown, whole, fraction, currency)
    return Money(-minor if parts.is_negative else minor, currency)


def _checked_text(text: str) -> str:
    if len(text) > MAX_TEXT_CHARS:
        raise AmountError(
            f"amount text is {len(text)} characters long; expected at most "
            f"{MAX_TEXT_CHARS}",
            text=text[:MAX_TEXT_CHARS],
        )
    shown = text.strip()
    if not shown:
        raise AmountError(
            "amount text is empty; expected an amount such as 12.50 USD", text=text
        )
    return shown


def _split_parentheses(text: str) -> tuple[str, bool]:
    """The text inside accounting parentheses, and whether there were any."""
    if text.startswith("(") and text.endswith(")"):
        return text[1:-1], True
    return text, False


def _lex(text: str, body: str) -> list[_Token]:
    tokens = []
    for match in _TOKEN_PATTERN.finditer(body):
        kind = str(match.lastgroup)
        if kind == "other":
            raise AmountError(
                f'"{text}" contains "{match.group()}", which is not part of an '
                f"amount; expected digits with an optional sign and currency, "
                f"such as -12.50 USD",
                text=text,
            )
        if kind != "space":
            tokens.append(_Token(kind, match.group()))
    return tokens


def _collect_parts(text: str, tokens: list[_Token], is_parenthesized: bool) -> _Parts:
    markers = tuple(
        _read_marker(text, token)
        for token in tokens
        if token.kind in ("symbol", "word")
    )
    numbers = [token.value for token in tokens if token.kind == "number"]
    signs = sum(token.kind == "sign" for token in tokens) + is_parenthesized

    if not numbers:
        raise AmountError(
            f'"{text}" holds no number; expected an amount such as 12.50 USD',
            text=text,
        )
    if len(numbers) > 1:
        raise AmountError(
            f'"{text}" holds {len(numbers)} numbers; expected exactly one amount',
            text=text,
        )
    if signs > 1:
        raise AmountError(
            f'"{text}" is marked negative more than once; expected one minus sign '
            f"or one pair of parentheses",
            text=text,
        )
    return _Parts(numbers[0], signs == 1, markers)


def _read_marker(text: str, token: _Token) -> str:
    """The currency code a symbol or word names, or _DOLLAR for a bare "$"."""
    if token.value == _DOLLAR:
        return _DOLLAR
    if token.kind == "symbol":
        return _SYMBOL_CODES[token.value.upper()]
    if token.value.upper() in _NON_FINITE_WORDS:
        raise AmountError(
            f'"{text}" is not a finite amount; expected digits such as 12.50',
            text=text,
        )
    if not _CODE_PATTERN.fullmatch(token.value):
        raise AmountError(
            f'"{text}" contains "{token.value}", which is not a currency code; '
            f"expected a three-letter code such as USD",
            text=text,
        )
    return _canonical_code(token.value)


def _resolve_currency(
    text: str, markers: tuple[str, ...], default: str | None
) -> str | None:
    named = sorted({marker for marker in markers if marker != _DOLLAR})
    if len(named) > 1:
        raise _two_currencies_error(text, *named[:2])
    if _DOLLAR not in markers:
        return named[0] if named else default

    if not named:
        return default if default in _DOLLAR_CURRENCIES else "USD"
    if named[0] not in _DOLLAR_CURRENCIES:
        raise _two_currencies_error(text, _DOLLAR, named[0])
    return named[0]


def _two_currencies_error(text: str, first: str, second: str) -> AmountError:
    return AmountError(
        f'"{text}" names two currencies, {first} and {second}; expected one',
        text=text,
    )


def _read_number(text: str, number: str, exponent: int | None) -> tuple[str, str]:
    """The digits before and after the decimal mark, without group separators."""
    body = number.translate(_SAME_GROUPING).translate(_SAME_APOSTROPHE)
    marks = [char for char in body if not char.isdigit()]
    mark = _decimal_mark(text, body, marks, exponent) if marks else None
    if mark is None:
        return _ungroup(text, body), ""

    whole, _, fraction = body.rpartition(mark)
    return _ungroup(text, whole), fraction


def _decimal_mark(
    text: str, body: str, marks: list[str], exponent: int | None
) -> str | None:
    """Which of the marks in `body` is the decimal mark, or None if it has none.

    Spaces and apostrophes only group. A mark that occurs twice groups. With two
    kinds of mark, the last one is the decimal mark. A lone "." or "," followed
    by exactly three digits after a 1-3 digit head ("3.350", "1,234") is decided
    by the currency: it groups for a 0-decimal currency, it is the decimal mark
    for a 3-decimal one, and otherwise it is refused as ambiguous.
    """
    last = marks[-1]
    if last in _GROUPING_ONLY or marks.count(last) > 1:
        return None
    if len(set(marks)) > 1:
        return last

    whole, _, fraction = body.partition(last)
    if len(fraction) != 3 or not _is_group_head(whole):
        return last
    if exponent == 0:
        return None
    if exponent == 3:
        return last
    raise _ambiguity_error(text, whole, fraction)


def _ambiguity_error(text: str, whole: str, fraction: str) -> AmountError:
    decimal = f"{whole}.{fraction}".rstrip("0").rstrip(".")
    grouped = whole + fraction
    return AmountError(
        f'can\'t tell whether "{text}" means {decimal} or {int(grouped):,}; '
        f"write it as {decimal} or {grouped}",
        text=text,
        readings=(decimal, grouped),
    )


def _ungroup(text: str, whole: str) -> str:
    marks = {char for char in whole if not char.isdigit()}
    if not marks:
        return whole
    if len(marks) > 1:
        raise AmountError(
            f'"{text}" mixes separators; expected one decimal mark and one kind '
            f"of group separator, such as 1,234.50 or 1.234,50",
            text=text,
        )

    groups = whole.split(marks.pop())
    if not (_is_thousands_grouping(groups) or _is_lakh_grouping(groups)):
        raise AmountError(
            f'"{text}" has digit groups of the wrong size; expected groups of '
            f"three such as 1,234,567",
            text=text,
        )
    return "".join(groups)


def _is_group_head(digits: str) -> bool:
    return 1 <= len(digits) <= 3 and not digits.startswith("0")


def _is_thousands_grouping(groups: list[str]) -> bool:
    return _is_group_head(groups[0]) and all(len(group) == 3 for group in groups[1:])


def _is_lakh_grouping(groups: list[str]) -> bool:
    """Indian grouping, as in 1,23,45,678: pairs, then a final three."""
    return (
        len(groups) >= 3
        and _is_group_head(groups[0])
        and len(groups[0]) <= 2
        and all(len(group) == 2 for group in groups[1:-1])
        and len(groups[-1]) == 3
    )


def _to_minor(text: str, whole: str, fraction: str, currency: str) -> int:
    exponent = CURRENCY_EXPONENTS[currency]
    if len(fraction) > exponent:
        raise _decimal_places_error(text, len(fraction), currency, exponent)

    minor = int(whole + fraction.ljust(exponent, "0"))
    if minor > MAX_ABS_MINOR:
        raise AmountError(
            f'"{text}" is too large; expected at most '
            f"{format_plain(Money(MAX_ABS_MINOR, currency))}",
            text=text,
        )
    return minor


def _decimal_places_error(
    text: str, places: int, currency: str, exponent: int
) -> AmountError:
    allowed = (
        "are whole numbers"
        if exponent == 0
        else f"have at most {exponent} decimal places"
    )
    return AmountError(
        f'"{text}" has {places} decimal place{"" if places == 1 else "s"}, but '
        f"{currency} amounts {allowed}",
        text=text,
    )


def format_money(money: Money) -> str:
    """For people: "$1,234.50", "-€20.00", "¥500", "CA$5.00" or "1,234.500 BHD".

    Grouped with "," and a "." decimal mark. `parse_amount` reads it back exactly
    unless its default currency is a dollar other than USD, which would take
    the bare "$" of USD as its own; use `format_plain` where that matters.
    """
    sign = "-" if money.is_negative else ""
    digits = _digits(money, grouped=True)
    symbol = _DISPLAY_SYMBOLS.get(money.currency)
    if symbol is None:
        return f"{sign}{digits} {money.currency}"
    return f"{sign}{symbol}{digits}"


def format_plain(money: Money) -> str:
    """For machines: "1234.50 USD", "-20.00 USD", "500 JPY"; always read back."""
    sign = "-" if money.is_negative else ""
    return f"{sign}{_digits(money, grouped=False)} {money.currency}"


def _digits(money: Money, *, grouped: bool) -> str:
    exponent = CURRENCY_EXPONENTS[money.currency]
    whole, fraction = divmod(abs(money.minor), 10**exponent)
    whole_text = f"{whole:,}" if grouped else str(whole)
    if exponent == 0:
        return whole_text
    return f"{whole_text}.{fraction:0{exponent}d}"


def convert(
    money: Money, to_currency: str, rates: Mapping[str, Decimal | Fraction | str]
) -> Money:
    """`money` in `to_currency`, rounded half to even to its minor unit.

    `rates[code]` is how many units of `to_currency` one unit of `code` buys.
    The same currency comes back as it is; MissingRateError when no rate is set.
    """
    target = _canonical_code(to_currency)
    if money.currency == target:
        return money

    rate = _read_rate(money.currency, target, rates)
    scale = Fraction(
        10 ** CURRENCY_EXPONENTS[target], 10 ** CURRENCY_EXPONENTS[money.currency]
    )
    return Money(round(money.minor * rate * scale), target)


def _read_rate(
    source: str, target: str, rates: Mapping[str, Decimal | Fraction | str]
) -> Fraction:
    raw = rates.get(source)
    if raw is None:
        raise MissingRateError(source, target)

    rate = _rate_as_fraction(raw)
    if rate is None or rate <= 0:
        raise InvalidRateError(source, target, raw)
    return rate


def _rate_as_fraction(raw: object) -> Fraction | None:
    """The exact rate, or None for floats, non-numbers and absurd magnitudes."""
    if isinstance(raw, Fraction):
        return raw
    if isinstance(raw, str):
        text = raw.strip()
        return Fraction(text) if _RATE_TEXT_PATTERN.fullmatch(text) else None
    if isinstance(raw, Decimal):
        is_sane = raw.is_finite() and abs(raw.adjusted()) <= _MAX_RATE_MAGNITUDE
        return Fraction(raw) if is_sane else None
    if isinstance(raw, int) and not isinstance(raw, bool):
        return Fraction(raw)
    return None
