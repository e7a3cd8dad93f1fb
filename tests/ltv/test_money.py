"""Money, the amount parser, formatting and conversion, exact to the minor unit."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ltv.errors import AmountError, CurrencyError, InvalidRateError, MissingRateError
from ltv.money import (
    CURRENCY_EXPONENTS,
    MAX_ABS_MINOR,
    Money,
    convert,
    currency_exponent,
    format_money,
    format_plain,
    parse_amount,
)

CODES = sorted(CURRENCY_EXPONENTS)
NON_DOLLAR_CODES = ["EUR", "GBP", "JPY", "BHD", "CHF", "INR"]

moneys = st.builds(
    Money,
    minor=st.integers(min_value=-MAX_ABS_MINOR, max_value=MAX_ABS_MINOR),
    currency=st.sampled_from(CODES),
)
# Characters amounts are made of, so generated text often gets deep into the parser.
amount_alphabet = st.sampled_from(
    [*"0123456789.,'-()$€£¥ \u00a0\u202f\u2212", "USD", "EUR", "JPY", "BHD"]
)
amount_like_text = st.lists(amount_alphabet, max_size=16).map("".join)


# The examples from the issue, and the everyday forms around them.
@pytest.mark.parametrize(
    ("text", "default_currency", "expected"),
    [
        ("$1,234.50", None, Money(123450, "USD")),
        ("1234.5", "USD", Money(123450, "USD")),
        ("USD 50", None, Money(5000, "USD")),
        ("50 EUR", None, Money(5000, "EUR")),
        ("1.234,50 €", None, Money(123450, "EUR")),
        ("€45.000,00", None, Money(4500000, "EUR")),
        ("11,33 USD", None, Money(1133, "USD")),
        ("1\u00a0234,50 €", None, Money(123450, "EUR")),
        ("1\u202f234,50 €", None, Money(123450, "EUR")),
        ("¥500", None, Money(500, "JPY")),
        ("-$20.00", None, Money(-2000, "USD")),
        ("$-20.00", None, Money(-2000, "USD")),
        ("($20.00)", None, Money(-2000, "USD")),
        ("$500.42-", None, Money(-50042, "USD")),
        ("29.33", "USD", Money(2933, "USD")),
        ("$0.00", None, Money(0, "USD")),
        ("£12", None, Money(1200, "GBP")),
        ("12 gbp", None, Money(1200, "GBP")),
        ("US$ 5", None, Money(500, "USD")),
        ("C$5", None, Money(500, "CAD")),
        ("A$5", None, Money(500, "AUD")),
    ],
)
def test_parse_amount_reads_the_issue_examples(
    text: str, default_currency: str | None, expected: Money
) -> None:
    money = parse_amount(text, default_currency)

    assert money == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("3.350 BHD", Money(3350, "BHD")),
        ("1,000 KWD", Money(1000, "KWD")),
        ("¥1,000", Money(1000, "JPY")),
        ("1.000 JPY", Money(1000, "JPY")),
        ("1,234,567.89 USD", Money(123456789, "USD")),
        ("1.234.567 EUR", Money(123456700, "EUR")),
        ("1 234 EUR", Money(123400, "EUR")),
        ("1'234.50 CHF", Money(123450, "CHF")),
        ("₹1,23,456.00", Money(12345600, "INR")),
        ("1,5 EUR", Money(150, "EUR")),
        ("1234,567 BHD", Money(1234567, "BHD")),
        ("\u22125 USD", Money(-500, "USD")),
        ("  USD50  ", Money(5000, "USD")),
        ("$5 CAD", Money(500, "CAD")),
        ("€5 EUR", Money(500, "EUR")),
    ],
)
def test_parse_amount_reads_an_unambiguous_amount(text: str, expected: Money) -> None:
    money = parse_amount(text)

    assert money == expected


@pytest.mark.parametrize(
    ("default_currency", "expected_currency"),
    [("CAD", "CAD"), ("cad", "CAD"), ("MXN", "MXN"), ("EUR", "USD"), (None, "USD")],
)
def test_a_bare_dollar_sign_is_the_default_dollar_currency_or_else_usd(
    default_currency: str | None, expected_currency: str
) -> None:
    money = parse_amount("$5", default_currency)

    assert money == Money(500, expected_currency)


def test_a_currency_in_the_text_wins_over_the_default() -> None:
    money = parse_amount("12 GBP", default_currency="USD")

    assert money == Money(1200, "GBP")


def test_a_three_digit_tail_is_decimals_when_the_default_has_three() -> None:
    money = parse_amount("3.350", default_currency="BHD")

    assert money == Money(3350, "BHD")


@pytest.mark.parametrize(
    ("text", "default_currency", "message", "readings"),
    [
        (
            "3.350",
            None,
            'can\'t tell whether "3.350" means 3.35 or 3,350; write it as 3.35 or 3350',
            ("3.35", "3350"),
        ),
        (
            "3.350",
            "USD",
            'can\'t tell whether "3.350" means 3.35 or 3,350; write it as 3.35 or 3350',
            ("3.35", "3350"),
        ),
        (
            "1,234 USD",
            None,
            'can\'t tell whether "1,234 USD" means 1.234 or 1,234; '
            "write it as 1.234 or 1234",
            ("1.234", "1234"),
        ),
        (
            "€2.000",
            None,
            'can\'t tell whether "€2.000" means 2 or 2,000; write it as 2 or 2000',
            ("2", "2000"),
        ),
    ],
)
def test_parse_amount_refuses_an_ambiguous_amount_and_shows_both_readings(
    text: str,
    default_currency: str | None,
    message: str,
    readings: tuple[str, str],
) -> None:
    with pytest.raises(AmountError) as caught:
        parse_amount(text, default_currency)

    assert str(caught.value) == message
    assert caught.value.readings == readings
    assert caught.value.text == text


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "amount text is empty; expected an amount such as 12.50 USD"),
        ("   ", "amount text is empty; expected an amount such as 12.50 USD"),
        (
            "¥500.5",
            '"¥500.5" has 1 decimal place, but JPY amounts are whole numbers',
        ),
        (
            "$1.2345",
            '"$1.2345" has 4 decimal places, but USD amounts have at most 2 '
            "decimal places",
        ),
        (
            "0,500 USD",
            '"0,500 USD" has 3 decimal places, but USD amounts have at most 2 '
            "decimal places",
        ),
        (
            "29.33",
            '"29.33" has no currency and no default currency is set; expected a '
            "code or symbol, such as 29.33 USD",
        ),
        ("USD", '"USD" holds no number; expected an amount such as 12.50 USD'),
        ("$5 $6", '"$5 $6" holds 2 numbers; expected exactly one amount'),
        ("5 - 3 EUR", '"5 - 3 EUR" holds 2 numbers; expected exactly one amount'),
        ("$5 EUR", '"$5 EUR" names two currencies, $ and EUR; expected one'),
        ("£5 EUR", '"£5 EUR" names two currencies, EUR and GBP; expected one'),
        ("NaN", '"NaN" is not a finite amount; expected digits such as 12.50'),
        (
            "-inf USD",
            '"-inf USD" is not a finite amount; expected digits such as 12.50',
        ),
        (
            "Infinity",
            '"Infinity" is not a finite amount; expected digits such as 12.50',
        ),
        (
            "5 dollars",
            '"5 dollars" contains "dollars", which is not a currency code; '
            "expected a three-letter code such as USD",
        ),
        (
            "$.50",
            '"$.50" contains ".", which is not part of an amount; expected digits '
            "with an optional sign and currency, such as -12.50 USD",
        ),
        (
            "1e5 USD",
            '"1e5 USD" contains "e", which is not a currency code; expected a '
            "three-letter code such as USD",
        ),
        (
            "(-$5)",
            '"(-$5)" is marked negative more than once; expected one minus sign '
            "or one pair of parentheses",
        ),
        (
            "--5 USD",
            '"--5 USD" is marked negative more than once; expected one minus sign '
            "or one pair of parentheses",
        ),
        (
            "($5",
            '"($5" contains "(", which is not part of an amount; expected digits '
            "with an optional sign and currency, such as -12.50 USD",
        ),
        (
            "$1,23,4",
            '"$1,23,4" has digit groups of the wrong size; expected groups of '
            "three such as 1,234,567",
        ),
        (
            "1.234.567,89.5 EUR",
            '"1.234.567,89.5 EUR" mixes separators; expected one decimal mark and '
            "one kind of group separator, such as 1,234.50 or 1.234,50",
        ),
        (
            "$10,000,000,000,000",
            '"$10,000,000,000,000" is too large; expected at most 9999999999999.99 USD',
        ),
        (
            "\u0665 USD",
            '"\u0665 USD" contains "\u0665", which is not part of an amount; '
            "expected digits with an optional sign and currency, such as -12.50 USD",
        ),
    ],
)
def test_parse_amount_refuses_unreadable_text_saying_why(
    text: str, message: str
) -> None:
    with pytest.raises(AmountError) as caught:
        parse_amount(text)

    assert str(caught.value) == message


def test_parse_amount_refuses_text_longer_than_64_characters() -> None:
    text = "1" * 65 + " USD"

    with pytest.raises(AmountError) as caught:
        parse_amount(text)

    assert str(caught.value) == (
        "amount text is 69 characters long; expected at most 64"
    )


def test_parse_amount_refuses_an_unknown_currency_code() -> None:
    with pytest.raises(CurrencyError) as caught:
        parse_amount("50 XYZ")

    assert str(caught.value) == (
        'currency code "XYZ" is not a supported ISO 4217 code; expected one such '
        "as USD, EUR or JPY"
    )
    assert caught.value.currency == "XYZ"


def test_parse_amount_refuses_a_malformed_default_currency() -> None:
    with pytest.raises(CurrencyError) as caught:
        parse_amount("5", default_currency="dollars")

    assert str(caught.value) == (
        "currency code 'dollars' is malformed; expected three letters such as USD"
    )


@pytest.mark.parametrize(
    ("code", "exponent"),
    [
        ("USD", 2),
        ("EUR", 2),
        ("usd", 2),
        ("JPY", 0),
        ("KRW", 0),
        ("ISK", 0),
        ("CLP", 0),
        ("VND", 0),
        ("BHD", 3),
        ("KWD", 3),
        ("JOD", 3),
        ("OMR", 3),
        ("TND", 3),
    ],
)
def test_currency_exponent_gives_the_iso_4217_minor_unit(
    code: str, exponent: int
) -> None:
    digits = currency_exponent(code)

    assert digits == exponent


@pytest.mark.parametrize(
    ("code", "message"),
    [
        (
            "XYZ",
            'currency code "XYZ" is not a supported ISO 4217 code; expected one '
            "such as USD, EUR or JPY",
        ),
        ("US", "currency code 'US' is malformed; expected three letters such as USD"),
        ("", "currency code '' is malformed; expected three letters such as USD"),
        (
            "ÜSD",
            "currency code 'ÜSD' is malformed; expected three letters such as USD",
        ),
    ],
)
def test_currency_exponent_refuses_an_unknown_or_malformed_code(
    code: str, message: str
) -> None:
    with pytest.raises(CurrencyError) as caught:
        currency_exponent(code)

    assert str(caught.value) == message


def test_the_currency_table_covers_the_common_currencies() -> None:
    common = {"USD", "EUR", "GBP", "JPY", "CNY", "INR", "CAD", "AUD", "CHF", "BRL"}

    assert len(CURRENCY_EXPONENTS) >= 40
    assert common <= set(CURRENCY_EXPONENTS)


def test_money_adds_and_subtracts_in_one_currency() -> None:
    price = Money(1050, "USD")
    refund = Money(300, "USD")

    total = price + refund
    net = price - refund

    assert total == Money(1350, "USD")
    assert net == Money(750, "USD")


def test_money_refuses_to_add_two_currencies() -> None:
    with pytest.raises(CurrencyError) as caught:
        Money(500, "USD") + Money(300, "EUR")

    assert str(caught.value) == (
        "cannot add 5.00 USD and 3.00 EUR; expected amounts in one currency, "
        "so convert one first"
    )
    assert caught.value.currency == "EUR"


def test_money_refuses_to_subtract_two_currencies() -> None:
    with pytest.raises(CurrencyError) as caught:
        Money(500, "JPY") - Money(300, "USD")

    assert str(caught.value) == (
        "cannot subtract 500 JPY and 3.00 USD; expected amounts in one currency, "
        "so convert one first"
    )


def test_money_negates_and_takes_its_absolute_value() -> None:
    refund = Money(-2000, "USD")

    assert refund.is_negative
    assert refund.negate() == Money(2000, "USD")
    assert refund.abs() == Money(2000, "USD")
    assert not Money(0, "USD").is_negative


def test_money_refuses_a_float_amount() -> None:
    with pytest.raises(TypeError) as caught:
        Money(12.5, "USD")  # type: ignore[arg-type]

    assert str(caught.value) == (
        "Money.minor must be an int count of minor units, got float 12.5"
    )


def test_money_refuses_a_lower_case_currency() -> None:
    with pytest.raises(CurrencyError) as caught:
        Money(100, "usd")

    assert (
        str(caught.value) == 'Money currency "usd" must be upper-case; expected "USD"'
    )


@pytest.mark.parametrize(
    ("money", "expected"),
    [
        (Money(123450, "USD"), "$1,234.50"),
        (Money(-2000, "USD"), "-$20.00"),
        (Money(0, "USD"), "$0.00"),
        (Money(7, "USD"), "$0.07"),
        (Money(500, "JPY"), "¥500"),
        (Money(1000000, "JPY"), "¥1,000,000"),
        (Money(4500000, "EUR"), "€45,000.00"),
        (Money(123450, "CAD"), "CA$1,234.50"),
        (Money(1000, "BHD"), "1.000 BHD"),
        (Money(-1234500, "KWD"), "-1,234.500 KWD"),
        (Money(123400, "SEK"), "1,234.00 SEK"),
        (Money(1234, "ISK"), "1,234 ISK"),
    ],
)
def test_format_money_writes_a_symbol_or_code_with_grouping(
    money: Money, expected: str
) -> None:
    text = format_money(money)

    assert text == expected


@pytest.mark.parametrize(
    ("money", "expected"),
    [
        (Money(123450, "USD"), "1234.50 USD"),
        (Money(-2000, "USD"), "-20.00 USD"),
        (Money(0, "EUR"), "0.00 EUR"),
        (Money(500, "JPY"), "500 JPY"),
        (Money(3350, "BHD"), "3.350 BHD"),
    ],
)
def test_format_plain_writes_digits_then_the_code(money: Money, expected: str) -> None:
    text = format_plain(money)

    assert text == expected


@given(money=moneys, default_currency=st.sampled_from([None, *CODES]))
def test_format_plain_reads_back_exactly_under_any_default(
    money: Money, default_currency: str | None
) -> None:
    parsed = parse_amount(format_plain(money), default_currency)

    assert parsed == money


@given(money=moneys, default_currency=st.sampled_from([None, "USD", *NON_DOLLAR_CODES]))
def test_format_money_reads_back_exactly_unless_the_default_is_another_dollar(
    money: Money, default_currency: str | None
) -> None:
    parsed = parse_amount(format_money(money), default_currency)

    assert parsed == money


def test_format_money_of_usd_reads_as_the_default_dollar_currency() -> None:
    text = format_money(Money(500, "USD"))

    assert parse_amount(text, default_currency="CAD") == Money(500, "CAD")


@given(text=st.text(max_size=80), default_currency=st.sampled_from([None, "USD"]))
def test_parse_amount_raises_only_amount_or_currency_errors_on_any_text(
    text: str, default_currency: str | None
) -> None:
    try:
        money = parse_amount(text, default_currency)
    except (AmountError, CurrencyError):
        return

    assert isinstance(money.minor, int)


@given(text=amount_like_text, default_currency=st.sampled_from([None, "USD", "JPY"]))
def test_whatever_parse_amount_reads_survives_a_plain_round_trip(
    text: str, default_currency: str | None
) -> None:
    try:
        money = parse_amount(text, default_currency)
    except (AmountError, CurrencyError):
        return

    assert parse_amount(format_plain(money)) == money
    assert abs(money.minor) <= MAX_ABS_MINOR


def test_convert_returns_the_same_money_for_the_same_currency() -> None:
    money = Money(1234, "USD")

    converted = convert(money, "USD", {})

    assert converted is money


@pytest.mark.parametrize(
    "rate", [Decimal("1.0825"), "1.0825", " 1.0825 ", Fraction(433, 400)]
)
def test_convert_multiplies_by_the_rate_for_the_source_currency(
    rate: Decimal | Fraction | str,
) -> None:
    converted = convert(Money(10000, "EUR"), "USD", {"EUR": rate})

    assert converted == Money(10825, "USD")


@pytest.mark.parametrize(
    ("minor", "expected_minor"),
    [(1, 0), (3, 2), (5, 2), (7, 4), (-1, 0), (-3, -2), (2, 1)],
)
def test_convert_rounds_half_to_even(minor: int, expected_minor: int) -> None:
    converted = convert(Money(minor, "USD"), "EUR", {"USD": "0.5"})

    assert converted == Money(expected_minor, "EUR")


def test_convert_scales_between_minor_units_of_different_sizes() -> None:
    dollar_in_yen = convert(Money(100, "USD"), "JPY", {"USD": Fraction(301, 2)})
    yen_in_dinar = convert(Money(1000, "JPY"), "BHD", {"JPY": "0.0025"})

    assert dollar_in_yen == Money(150, "JPY")
    assert yen_in_dinar == Money(2500, "BHD")


def test_convert_without_a_rate_raises_missing_rate() -> None:
    with pytest.raises(MissingRateError) as caught:
        convert(Money(500, "GBP"), "USD", {"EUR": "1.08"})

    assert str(caught.value) == (
        "no exchange rate from GBP to USD is configured; an admin can set one "
        "with `/ltv admin rate GBP <rate>`"
    )
    assert (caught.value.currency, caught.value.base_currency) == ("GBP", "USD")


@pytest.mark.parametrize(
    "rate",
    [1.08, "0", "-1.2", "abc", "1e999999999", Decimal("NaN"), Decimal("1E+400"), True],
)
def test_convert_refuses_a_rate_that_is_not_a_positive_exact_number(
    rate: object,
) -> None:
    with pytest.raises(InvalidRateError) as caught:
        convert(Money(500, "EUR"), "USD", {"EUR": rate})  # type: ignore[dict-item]

    assert str(caught.value) == (
        f"exchange rate {rate!r} from EUR to USD is not usable; expected a "
        'positive decimal such as "1.0825" given as a string, Decimal or '
        "Fraction, never a float"
    )


def test_convert_refuses_an_unknown_target_currency() -> None:
    with pytest.raises(CurrencyError) as caught:
        convert(Money(500, "EUR"), "ABC", {"EUR": "1.1"})

    assert caught.value.currency == "ABC"
