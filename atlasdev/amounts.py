"""Ether amounts as users type them ("1.5 eth", "100gwei", "1e18") and as we print them.

All arithmetic is exact integer math on the decimal digits; floats are never involved.
"""

from __future__ import annotations

import re

__all__ = ["MAX_WEI", "UNITS", "AmountError", "format_wei", "parse_amount"]

MAX_WEI = 2**256 - 1
# Unit name -> power of ten of one unit in wei.
UNITS: dict[str, int] = {"wei": 0, "gwei": 9, "eth": 18, "ether": 18}

_MAX_DIGITS = len(str(MAX_WEI))  # 78
_AMOUNT_RE = re.compile(
    r"""
    (?P<sign>-?)
    (?P<int>[0-9]*)
    (?:\.(?P<frac>[0-9]*))?
    (?:[eE](?P<exp>[-+]?[0-9]+))?
    \s*
    (?P<unit>[a-zA-Z]*)
    """,
    re.VERBOSE | re.ASCII,
)
_EXPECTED = "expected a number with an optional unit (wei, gwei, eth/ether)"


class AmountError(ValueError):
    """An amount string could not be turned into wei; the message is one line."""


def _fail(text: str, problem: str) -> AmountError:
    shown = repr(text) if len(text) <= 60 else repr(text[:57] + "...")
    return AmountError(f"invalid amount {shown}: {problem}")


def parse_amount(text: str) -> int:
    """Parse an amount such as ``"1.5 eth"``, ``"100gwei"``, ``"123"`` or ``"1e18"`` into wei.

    A bare number is wei. Units are case-insensitive. The result must be a whole number of wei
    in ``0..2**256-1``; anything else raises ``AmountError``.
    """
    if not isinstance(text, str):
        raise TypeError(f"amount must be a string, got {type(text).__name__}")
    stripped = text.strip()
    match = _AMOUNT_RE.fullmatch(stripped)
    if match is None or not (match["int"] or match["frac"]):
        raise _fail(text, _EXPECTED)
    unit = match["unit"].lower()
    if unit and unit not in UNITS:
        raise _fail(text, _EXPECTED)
    if match["sign"]:
        raise _fail(text, "must not be negative")

    frac = match["frac"] or ""
    digits = (match["int"] + frac).lstrip("0")
    # Exponent of ten applied to the integer `digits`; may be huge, so never raise 10 to it
    # before checking the range.
    exp_text = match["exp"] or "0"
    if len(exp_text.lstrip("+-").lstrip("0")) > 9:  # beyond any sensible amount; clamp
        exp_text = "-1000000000" if exp_text.startswith("-") else "1000000000"
    exponent = int(exp_text) - len(frac) + UNITS[unit or "wei"]
    if not digits:
        return 0  # zero, whatever its exponent or unit
    significant = digits.rstrip("0")
    exponent += len(digits) - len(significant)
    if exponent < 0:
        raise _fail(text, "fractional wei (the smallest unit is 1 wei)")
    if len(significant) + exponent > _MAX_DIGITS:
        raise _fail(text, "larger than 2**256-1 wei")
    wei = int(significant) * 10**exponent
    if wei > MAX_WEI:
        raise _fail(text, "larger than 2**256-1 wei")
    return wei


def format_wei(wei: int) -> str:
    """Render wei exactly as ETH: ``"10000 ETH"``, ``"0.5 ETH"``, ``"0.000000000000000001 ETH"``.

    Up to 18 decimals, trailing zeros stripped; ``parse_amount`` reads the result back exactly.
    """
    if isinstance(wei, bool) or not isinstance(wei, int):
        raise TypeError(f"wei must be an int, got {type(wei).__name__}")
    sign = "-" if wei < 0 else ""
    whole, frac = divmod(abs(wei), 10**18)
    frac_text = f"{frac:018d}".rstrip("0")
    number = f"{whole}.{frac_text}" if frac_text else str(whole)
    return f"{sign}{number} ETH"
