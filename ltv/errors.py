"""The project's error tree: one base, each error also the builtin it means."""

from __future__ import annotations


class LtvError(Exception):
    """Base of every error this project raises on purpose."""


class AmountError(LtvError, ValueError):
    """Text that cannot be read as an amount of money, with certainty."""

    def __init__(self, message: str, *, text: str, readings: tuple[str, ...] = ()):
        super().__init__(message)
        self.text = text
        self.readings = readings


class CurrencyError(LtvError, ValueError):
    """A currency code that is unknown, or mixed where one currency is needed."""

    def __init__(self, message: str, *, currency: str):
        super().__init__(message)
        self.currency = currency


class MissingRateError(LtvError, LookupError):
    """No exchange rate is configured to convert a currency into the base one."""

    def __init__(self, currency: str, base_currency: str):
        super().__init__(
            f"no exchange rate from {currency} to {base_currency} is configured; "
            f"an admin can set one with `/ltv admin rate {currency} <rate>`"
        )
        self.currency = currency
        self.base_currency = base_currency


class RefundTooLargeError(LtvError, ValueError):
    """A refund that would take a customer's net revenue below zero."""

    def __init__(self, refund_minor: int, net_revenue_minor: int, currency: str):
        super().__init__(
            f"refund of {refund_minor} minor units of {currency} exceeds the "
            f"customer's net revenue of {net_revenue_minor}"
        )
        self.refund_minor = refund_minor
        self.net_revenue_minor = net_revenue_minor
        self.currency = currency


class InvalidIdError(LtvError, ValueError):
    """A Slack id that is not of the expected shape, refused before any key is built."""

    def __init__(self, kind: str, value: object):
        super().__init__(f"{kind} {value!r} is not a valid Slack id")
        self.kind = kind
        self.value = value


class StoreUnavailableError(LtvError, ConnectionError):
    """Redis could not be reached or answered too slowly; the work was not stored."""


class ModelFitError(LtvError, ArithmeticError):
    """The predictive model could not be fitted to the data given."""


class InvalidRateError(LtvError, ValueError):
    """An exchange rate that is not a finite, positive number written exactly."""

    def __init__(self, currency: str, base_currency: str, rate: object):
        super().__init__(
            f"exchange rate {rate!r} from {currency} to {base_currency} is not "
            f'usable; expected a positive decimal such as "1.0825" given as a '
            f"string, Decimal or Fraction, never a float"
        )
        self.currency = currency
        self.base_currency = base_currency
        self.rate = rate
