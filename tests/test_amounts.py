"""Tests for atlasdev.amounts: parsing user amounts into wei and formatting wei."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from atlasdev.amounts import MAX_WEI, AmountError, format_wei, parse_amount

ETH = 10**18
GWEI = 10**9
EXPECTED = "expected a number with an optional unit (wei, gwei, eth/ether)"


@pytest.mark.parametrize(
    ("text", "wei"),
    [
        ("1eth", ETH),
        ("1 eth", ETH),
        ("0.5ether", ETH // 2),
        ("100gwei", 100 * GWEI),
        ("12wei", 12),
        ("123", 123),
        ("1.5ETH", 3 * ETH // 2),
        ("1e18", ETH),
        ("1E18", ETH),
        ("  2 Ether  ", 2 * ETH),
        (".25 eth", ETH // 4),
        ("3. gwei", 3 * GWEI),
        ("0", 0),
        ("0.0 eth", 0),
        ("0e999999999999", 0),
        ("1.5e3 gwei", 1500 * GWEI),
        ("1e-18 eth", 1),
        ("1e-9eth", GWEI),
        ("0.000000000000000001 eth", 1),
        ("10000 ETH", 10_000 * ETH),
        ("007", 7),
        ("1.50000000000000000000000 eth", 3 * ETH // 2),
        (str(MAX_WEI), MAX_WEI),
        (format_wei(MAX_WEI), MAX_WEI),
    ],
)
def test_parse_amount(text: str, wei: int) -> None:
    assert parse_amount(text) == wei


def test_example_error_message() -> None:
    with pytest.raises(AmountError) as info:
        parse_amount("1.2.3")
    assert str(info.value) == f"invalid amount '1.2.3': {EXPECTED}"


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", EXPECTED),
        ("   ", EXPECTED),
        ("eth", EXPECTED),
        (".", EXPECTED),
        ("abc", EXPECTED),
        ("1 btc", EXPECTED),
        ("1 e18", EXPECTED),
        ("1e", EXPECTED),
        ("1,000", EXPECTED),
        ("+1", EXPECTED),
        ("0x10", EXPECTED),
        ("1 eth eth", EXPECTED),
        ("nan", EXPECTED),
        ("inf", EXPECTED),
        ("\u0661", EXPECTED),  # Arabic-Indic digit one
        ("-1", "must not be negative"),
        ("-0.5 eth", "must not be negative"),
        ("0.5wei", "fractional wei (the smallest unit is 1 wei)"),
        ("1.0000000001 gwei", "fractional wei (the smallest unit is 1 wei)"),
        ("1e-19 eth", "fractional wei (the smallest unit is 1 wei)"),
        ("1e-99999999999999 eth", "fractional wei (the smallest unit is 1 wei)"),
        (str(MAX_WEI + 1), "larger than 2**256-1 wei"),
        ("1e78", "larger than 2**256-1 wei"),
        ("1e99999999999999999999", "larger than 2**256-1 wei"),
        ("1" + "0" * 10_000, "larger than 2**256-1 wei"),
    ],
)
def test_parse_amount_rejects(text: str, problem: str) -> None:
    with pytest.raises(AmountError) as info:
        parse_amount(text)
    message = str(info.value)
    assert message.startswith("invalid amount '")
    assert message.endswith(f": {problem}")
    assert "\n" not in message
    assert len(message) < 200


def test_amount_error_is_value_error() -> None:
    assert issubclass(AmountError, ValueError)


def test_non_string_is_type_error() -> None:
    with pytest.raises(TypeError):
        parse_amount(5)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("wei", "text"),
    [
        (0, "0 ETH"),
        (1, "0.000000000000000001 ETH"),
        (GWEI, "0.000000001 ETH"),
        (ETH // 2, "0.5 ETH"),
        (ETH, "1 ETH"),
        (10_000 * ETH, "10000 ETH"),
        (3 * ETH // 2 + 1, "1.500000000000000001 ETH"),
        (-ETH // 2, "-0.5 ETH"),
    ],
)
def test_format_wei(wei: int, text: str) -> None:
    assert format_wei(wei) == text


def test_format_wei_rejects_non_int() -> None:
    with pytest.raises(TypeError):
        format_wei(1.0)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        format_wei(True)


wei_values = st.one_of(
    st.integers(min_value=0, max_value=MAX_WEI),
    st.integers(min_value=0, max_value=10**24),
)


@given(wei_values)
def test_format_round_trip(wei: int) -> None:
    assert parse_amount(format_wei(wei)) == wei


@given(wei_values)
def test_plain_wei_round_trip(wei: int) -> None:
    assert parse_amount(str(wei)) == wei
    assert parse_amount(f"{wei} wei") == wei


@given(st.integers(min_value=0, max_value=MAX_WEI // GWEI))
def test_gwei_is_times_ten_to_the_nine(n: int) -> None:
    assert parse_amount(f"{n}gwei") == n * GWEI
    assert parse_amount(f"{n} GWEI") == n * GWEI


@given(st.integers(min_value=0, max_value=MAX_WEI // ETH), st.integers(0, ETH - 1))
def test_decimal_eth(whole: int, frac: int) -> None:
    text = f"{whole}.{frac:018d} eth"
    if whole * ETH + frac > MAX_WEI:  # the largest whole number of ETH leaves less room
        with pytest.raises(AmountError, match="larger than"):
            parse_amount(text)
    else:
        assert parse_amount(text) == whole * ETH + frac


@given(st.integers(min_value=1, max_value=10**30), st.integers(min_value=0, max_value=40))
def test_exponent_form(mantissa: int, exp: int) -> None:
    expected = mantissa * 10**exp
    if expected > MAX_WEI:
        with pytest.raises(AmountError):
            parse_amount(f"{mantissa}e{exp}")
    else:
        assert parse_amount(f"{mantissa}e{exp}") == expected


@given(st.text(max_size=30))
def test_garbage_never_crashes(text: str) -> None:
    try:
        wei = parse_amount(text)
    except AmountError as exc:
        assert "\n" not in str(exc)
    else:
        assert 0 <= wei <= MAX_WEI
