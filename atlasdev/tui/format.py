"""How the dashboard writes hashes, addresses, amounts, times and ages (plain functions, no UI)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, tzinfo

from eth_utils import to_checksum_address

from ..amounts import format_wei

NOT_RUNNING = "not running"


def hex0x(value: bytes) -> str:
    return "0x" + value.hex()


def short(value: bytes, keep: int = 4) -> str:
    """``0x1234…cdef``: enough to tell hashes apart in a table."""
    text = value.hex()
    if len(text) <= 2 * keep + 1:
        return "0x" + text
    return f"0x{text[:keep]}…{text[-keep:]}"


def address(value: bytes | None) -> str:
    return "—" if value is None else to_checksum_address(value)


def short_address(value: bytes | None) -> str:
    if value is None:
        return "—"
    full = to_checksum_address(value)
    return f"{full[:6]}…{full[-4:]}"


def eth(wei: int) -> str:
    """Exact ETH (``format_wei``), for detail screens."""
    return format_wei(wei)


def eth_short(wei: int, decimals: int = 4) -> str:
    """ETH truncated to ``decimals`` places, for tables; ``<0.0001 ETH`` for dust."""
    whole, frac = divmod(wei, 10**18)
    scaled = frac // 10 ** (18 - decimals)
    if whole == 0 and scaled == 0 and frac:
        return f"<0.{'0' * (decimals - 1)}1 ETH"
    text = f"{whole:,}.{scaled:0{decimals}d}".rstrip("0").rstrip(".")
    return f"{text} ETH"


def count(value: int) -> str:
    return f"{value:,}"


def clock_time(when: float, tz: tzinfo | None) -> str:
    """``HH:MM:SS`` in ``tz`` (None: the machine's local time)."""
    return datetime.fromtimestamp(when, tz).strftime("%H:%M:%S")


def date_time(when: float, tz: tzinfo | None) -> str:
    moment = datetime.fromtimestamp(when, tz)
    return moment.strftime("%Y-%m-%d %H:%M:%S %Z").rstrip()


def age(seconds: float) -> str:
    """``4s``, ``3m 05s``, ``2h 07m``: how long ago, rounded down."""
    s = max(0, int(seconds))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m {s % 60:02d}s"
    if s < 86400:
        return f"{s // 3600}h {s % 3600 // 60:02d}m"
    return f"{s // 86400}d {s % 86400 // 3600:02d}h"


def rate(value: float) -> str:
    return f"{value:,.1f}"


def millis(value: float | None) -> str:
    return "—" if value is None else f"{value:,.0f} ms"


def or_not_running(value: object, render: Callable[[object], str] = str) -> str:
    return NOT_RUNNING if value is None else render(value)


def status_text(status: int, reason: str) -> str:
    """A receipt's outcome as people read it: ``success`` or ``failed: <reason>``."""
    if status == 1:
        return "success"
    return f"failed: {reason}" if reason else "failed"
