"""Devnet profiles: which chains to run, read from small TOML files.

A profile is either a builtin name (``default``, ``solo``, ``prividium``; the files live in the
top-level ``profiles/`` folder) or a path to a ``.toml`` file of the same shape::

    name = "default"                 # optional, defaults to the file stem
    description = "Two public L2 chains"   # optional
    [[chains]]
    name = "alpha"                   # required, [a-z][a-z0-9-]{0,31}
    chain_id = 271                   # required, 1..2**53-1
    block_time_ms = 250              # optional, 10..60000 (default 250)
    rpc_port = 8545                  # optional, 1..65535 (default 8545 + chain index)
    private = false                  # optional (default false)
    [[chains.tokens]]                # optional, private chains only: Prividium access tokens
    token = "alice-dev-token"        # required, 8..200 of A-Z a-z 0-9 - . _ ~ + / (then = padding)
    accounts = ["0xf39F...2266"]     # the accounts this token sees and sends from (0x addresses)
    admin = false                    # optional (default false): sees everything, creates tokens
    [l1]                             # optional: the model L1 every network settles to
    chain_id = 900                   # optional (default 900, supersim's L1)
    block_time_ms = 2000             # optional, 10..60000 (default 2000: slower than the L2s)
    rpc_port = 8544                  # optional (default 8544)
    settle_interval_ms = 5000        # optional, 100..3600000: how often the gateway settles

The L1 is named ``l1``; its chain id, port and name must differ from every L2's.
Every problem is reported as one ``ProfileError`` line naming the file, the key and the problem.
"""

from __future__ import annotations

import dataclasses
import importlib.resources
import json
import re
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

__all__ = [
    "AccessToken",
    "ChainConfig",
    "Profile",
    "ProfileError",
    "builtin_profiles",
    "dump_profile",
    "load_profile",
    "parse_profile",
    "with_port_base",
]

DEFAULT_BLOCK_TIME_MS = 250
DEFAULT_RPC_PORT = 8545
MAX_CHAIN_ID = 2**53 - 1
MIN_BLOCK_TIME_MS = 10
MAX_BLOCK_TIME_MS = 60_000
MAX_PORT = 65_535
L1_NAME = "l1"
DEFAULT_L1_CHAIN_ID = 900  # supersim's L1
DEFAULT_L1_BLOCK_TIME_MS = 2000
DEFAULT_L1_RPC_PORT = 8544
DEFAULT_SETTLE_INTERVAL_MS = 5000
MIN_SETTLE_INTERVAL_MS = 100
MAX_SETTLE_INTERVAL_MS = 3_600_000

_CHAIN_NAME_PATTERN = "[a-z][a-z0-9-]{0,31}"
_CHAIN_NAME_RE = re.compile(_CHAIN_NAME_PATTERN)
_PROFILE_KEYS = ("name", "description", "chains", "l1")
_L1_KEYS = ("chain_id", "block_time_ms", "rpc_port", "settle_interval_ms")
_CHAIN_KEYS = ("name", "chain_id", "block_time_ms", "rpc_port", "private", "tokens")
_TOKEN_KEYS = ("token", "accounts", "admin")
# RFC 6750's b64token: what may follow "Bearer " in an Authorization header.
_TOKEN_PATTERN = "[A-Za-z0-9._~+/-]{8,200}=*"
_TOKEN_RE = re.compile(_TOKEN_PATTERN)
_ADDRESS_RE = re.compile("0x[0-9a-fA-F]{40}")
_BUILTIN_PREFIX = "builtin:"
# pyproject.toml installs the top-level profiles/ folder as this data package.
_DATA_PACKAGES = ("atlasdev.builtin_profiles",)
_CHECKOUT_ROOT = Path(__file__).resolve().parent.parent


class ProfileError(ValueError):
    """A profile could not be found, read or validated; the message is one line."""


@dataclass(frozen=True)
class AccessToken:
    """A bearer token of a private chain: ``accounts`` are lowercase 0x addresses; an ``admin``
    token sees the whole chain and may create tokens (docs/prividium.md)."""

    token: str
    accounts: tuple[str, ...] = ()
    admin: bool = False


@dataclass(frozen=True)
class ChainConfig:
    """One chain of a devnet: an L2, or the model L1 (``Profile.l1``)."""

    name: str
    chain_id: int
    block_time_ms: int = DEFAULT_BLOCK_TIME_MS
    rpc_port: int = DEFAULT_RPC_PORT
    private: bool = False
    tokens: tuple[AccessToken, ...] = ()


@dataclass(frozen=True)
class Profile:
    """A validated devnet profile; ``source`` is the file path or ``builtin:NAME``."""

    name: str
    description: str
    chains: tuple[ChainConfig, ...]  # the L2s
    source: str
    l1: ChainConfig = ChainConfig(
        L1_NAME, DEFAULT_L1_CHAIN_ID, DEFAULT_L1_BLOCK_TIME_MS, DEFAULT_L1_RPC_PORT
    )
    settle_interval_ms: int = DEFAULT_SETTLE_INTERVAL_MS

    @property
    def all_chains(self) -> tuple[ChainConfig, ...]:
        """The L2s, then the L1."""
        return (*self.chains, self.l1)


def _builtin_root() -> Traversable | None:
    """The folder that holds the builtin profile files, or None if it cannot be found."""
    for package in _DATA_PACKAGES:
        try:
            root = importlib.resources.files(package)
        except (ModuleNotFoundError, TypeError):
            continue
        if root.joinpath("default.toml").is_file():
            return root
    # Running from a source checkout without an install: the top-level profiles/ folder.
    folder = _CHECKOUT_ROOT / "profiles"
    if (_CHECKOUT_ROOT / "pyproject.toml").is_file() and (folder / "default.toml").is_file():
        return folder
    return None


def builtin_profiles() -> list[str]:
    """Names of the builtin profiles, sorted."""
    root = _builtin_root()
    if root is None:
        return []
    return sorted(
        entry.name.removesuffix(".toml")
        for entry in root.iterdir()
        if entry.name.endswith(".toml") and entry.is_file()
    )


def load_profile(name_or_path: str) -> Profile:
    """Load a builtin profile by name (``"default"``) or a profile file by path."""
    text = str(name_or_path)
    names = builtin_profiles()
    if text in names:
        root = _builtin_root()
        assert root is not None  # names is non-empty
        source = f"{_BUILTIN_PREFIX}{text}"
        return parse_profile(root.joinpath(f"{text}.toml").read_text(encoding="utf-8"), source)
    path = Path(text)
    looks_like_path = text.endswith(".toml") or "/" in text or "\\" in text or _exists(path)
    if not looks_like_path:
        available = ", ".join(names) or "(none found)"
        raise ProfileError(
            f"unknown profile {text!r}: builtin profiles are {available}; "
            "or pass a path to a .toml file"
        )
    try:
        content = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ProfileError(f"{text}: cannot read profile: not valid UTF-8 ({exc.reason})") from exc
    except OSError as exc:
        raise ProfileError(f"{text}: cannot read profile: {exc.strerror or exc}") from exc
    return parse_profile(content, text)


def _exists(path: Path) -> bool:
    try:
        return path.exists()
    except (OSError, ValueError):
        return False


def _show(value: Any) -> str:
    """A short one-line repr of a value for error messages."""
    shown = repr(value)
    return shown if len(shown) <= 60 else shown[:57] + "..."


def _type_name(value: Any) -> str:
    return {dict: "table", list: "array", str: "string", bool: "boolean"}.get(
        type(value), type(value).__name__
    )


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _default_name(source: str) -> str:
    if source.startswith(_BUILTIN_PREFIX):
        return source[len(_BUILTIN_PREFIX) :]
    return Path(source).stem


def parse_profile(text: str, source: str) -> Profile:
    """Parse and validate profile TOML; ``source`` names the file in error messages."""

    def fail(key: str, problem: str) -> ProfileError:
        return ProfileError(f"{source}: {key}: {problem}")

    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message = " ".join(str(exc).split())
        raise ProfileError(f"{source}: invalid TOML: {message}") from exc

    for key in data:
        if key not in _PROFILE_KEYS:
            raise fail(key, f"unknown key (expected one of: {', '.join(_PROFILE_KEYS)})")

    name = data.get("name", _default_name(source))
    if not isinstance(name, str):
        raise fail("name", f"must be a string, got {_show(name)}")
    if not name.strip():
        raise fail("name", "must not be empty")
    description = data.get("description", "")
    if not isinstance(description, str):
        raise fail("description", f"must be a string, got {_show(description)}")

    if "chains" not in data:
        raise fail("chains", "required key is missing (add at least one [[chains]] table)")
    raw_chains = data["chains"]
    if not isinstance(raw_chains, list):
        raise fail("chains", f"must be an array of [[chains]] tables, got {_type_name(raw_chains)}")
    if not raw_chains:
        raise fail("chains", "must contain at least one chain")

    chains: list[ChainConfig] = []
    seen: dict[str, dict[Any, int]] = {"name": {}, "chain_id": {}, "rpc_port": {}}
    for index, raw in enumerate(raw_chains):
        where = f"chains[{index}]"
        if not isinstance(raw, dict):
            raise fail(where, f"must be a table, got {_show(raw)}")
        for key in raw:
            if key not in _CHAIN_KEYS:
                raise fail(
                    f"{where}.{key}", f"unknown key (expected one of: {', '.join(_CHAIN_KEYS)})"
                )
        for key in ("name", "chain_id"):
            if key not in raw:
                raise fail(f"{where}.{key}", "required key is missing")

        chain_name = raw["name"]
        if not isinstance(chain_name, str):
            raise fail(f"{where}.name", f"must be a string, got {_show(chain_name)}")
        if not _CHAIN_NAME_RE.fullmatch(chain_name):
            raise fail(
                f"{where}.name", f"must match {_CHAIN_NAME_PATTERN}, got {_show(chain_name)}"
            )

        chain_id = raw["chain_id"]
        if not _is_int(chain_id) or chain_id < 1:
            raise fail(f"{where}.chain_id", f"must be a positive integer, got {_show(chain_id)}")
        if chain_id > MAX_CHAIN_ID:
            raise fail(f"{where}.chain_id", f"must be at most 2**53-1, got {chain_id}")

        block_time_ms = raw.get("block_time_ms", DEFAULT_BLOCK_TIME_MS)
        if not _is_int(block_time_ms) or not (
            MIN_BLOCK_TIME_MS <= block_time_ms <= MAX_BLOCK_TIME_MS
        ):
            raise fail(
                f"{where}.block_time_ms",
                f"must be an integer in {MIN_BLOCK_TIME_MS}..{MAX_BLOCK_TIME_MS}, "
                f"got {_show(block_time_ms)}",
            )

        rpc_port = raw.get("rpc_port", DEFAULT_RPC_PORT + index)
        if not _is_int(rpc_port) or not (1 <= rpc_port <= MAX_PORT):
            raise fail(
                f"{where}.rpc_port", f"must be an integer in 1..{MAX_PORT}, got {_show(rpc_port)}"
            )

        private = raw.get("private", False)
        if not isinstance(private, bool):
            raise fail(f"{where}.private", f"must be a boolean (true/false), got {_show(private)}")

        tokens = _parse_tokens(raw.get("tokens", []), f"{where}.tokens", private, fail)

        for key, value, label in (
            ("name", chain_name, "chain name"),
            ("chain_id", chain_id, "chain id"),
            ("rpc_port", rpc_port, "rpc port"),
        ):
            if value in seen[key]:
                raise fail(
                    f"{where}.{key}",
                    f"duplicate {label} {_show(value)} (also used by chains[{seen[key][value]}])",
                )
            seen[key][value] = index

        chains.append(ChainConfig(chain_name, chain_id, block_time_ms, rpc_port, private, tokens))

    l1, settle_interval_ms = _parse_l1(data.get("l1", {}), seen, fail)
    return Profile(name, description, tuple(chains), source, l1, settle_interval_ms)


def _parse_l1(
    raw: Any, seen: dict[str, dict[Any, int]], fail: Callable[[str, str], ProfileError]
) -> tuple[ChainConfig, int]:
    """The ``[l1]`` table: the L1's chain id, block time, port, and the settlement interval."""
    if not isinstance(raw, dict):
        raise fail("l1", f"must be a table, got {_show(raw)}")
    for key in raw:
        if key not in _L1_KEYS:
            raise fail(f"l1.{key}", f"unknown key (expected one of: {', '.join(_L1_KEYS)})")
    ranges = {
        "chain_id": (1, MAX_CHAIN_ID, DEFAULT_L1_CHAIN_ID),
        "block_time_ms": (MIN_BLOCK_TIME_MS, MAX_BLOCK_TIME_MS, DEFAULT_L1_BLOCK_TIME_MS),
        "rpc_port": (1, MAX_PORT, DEFAULT_L1_RPC_PORT),
        "settle_interval_ms": (
            MIN_SETTLE_INTERVAL_MS,
            MAX_SETTLE_INTERVAL_MS,
            DEFAULT_SETTLE_INTERVAL_MS,
        ),
    }
    values: dict[str, int] = {}
    for key, (low, high, default) in ranges.items():
        value = raw.get(key, default)
        if not _is_int(value) or not low <= value <= high:
            raise fail(f"l1.{key}", f"must be an integer in {low}..{high}, got {_show(value)}")
        values[key] = value
    for key, value, label in (
        ("name", L1_NAME, "chain name"),
        ("chain_id", values["chain_id"], "chain id"),
        ("rpc_port", values["rpc_port"], "rpc port"),
    ):
        if value in seen[key]:
            where = f"chains[{seen[key][value]}].{key}"
            raise fail(where, f"{label} {_show(value)} is the L1's (set another, or change [l1])")
    l1 = ChainConfig(L1_NAME, values["chain_id"], values["block_time_ms"], values["rpc_port"])
    return l1, values["settle_interval_ms"]


def _parse_tokens(
    raw: Any, where: str, private: bool, fail: Callable[[str, str], ProfileError]
) -> tuple[AccessToken, ...]:
    """A private chain's ``[[chains.tokens]]`` tables, validated."""
    if not isinstance(raw, list):
        raise fail(where, f"must be an array of [[chains.tokens]] tables, got {_type_name(raw)}")
    if raw and not private:
        raise fail(where, "only a private chain takes tokens (set private = true)")
    tokens: list[AccessToken] = []
    seen: dict[str, int] = {}
    for index, entry in enumerate(raw):
        at = f"{where}[{index}]"
        if not isinstance(entry, dict):
            raise fail(at, f"must be a table, got {_show(entry)}")
        for key in entry:
            if key not in _TOKEN_KEYS:
                raise fail(
                    f"{at}.{key}", f"unknown key (expected one of: {', '.join(_TOKEN_KEYS)})"
                )
        if "token" not in entry:
            raise fail(f"{at}.token", "required key is missing")
        token = entry["token"]
        if not isinstance(token, str) or not _TOKEN_RE.fullmatch(token):
            raise fail(f"{at}.token", f"must match {_TOKEN_PATTERN}, got {_show(token)}")
        if token in seen:
            raise fail(f"{at}.token", f"duplicate token (also used by {where}[{seen[token]}])")
        seen[token] = index
        admin = entry.get("admin", False)
        if not isinstance(admin, bool):
            raise fail(f"{at}.admin", f"must be a boolean (true/false), got {_show(admin)}")
        accounts = entry.get("accounts", [])
        if not isinstance(accounts, list):
            raise fail(f"{at}.accounts", f"must be an array of 0x addresses, got {_show(accounts)}")
        for i, account in enumerate(accounts):
            if not isinstance(account, str) or not _ADDRESS_RE.fullmatch(account):
                raise fail(
                    f"{at}.accounts[{i}]",
                    f"must be a 0x address (40 hex digits), got {_show(account)}",
                )
        if not accounts and not admin:
            raise fail(
                f"{at}.accounts",
                "a token that is not admin needs at least one account (or set admin = true)",
            )
        unique = tuple(dict.fromkeys(a.lower() for a in accounts))
        tokens.append(AccessToken(token, unique, admin))
    return tuple(tokens)


def with_port_base(profile: Profile, base: int) -> Profile:
    """Return ``profile`` with L2 ``i`` listening on RPC port ``base + i`` and the L1 on the
    port after the last L2's."""
    count = len(profile.chains) + 1
    if not _is_int(base) or base < 1 or base + count - 1 > MAX_PORT:
        raise ProfileError(
            f"{profile.source}: rpc_port: port base {_show(base)} does not fit {count} chain(s) "
            f"(the L2s and the L1) in 1..{MAX_PORT}"
        )
    chains = tuple(
        dataclasses.replace(chain, rpc_port=base + i) for i, chain in enumerate(profile.chains)
    )
    l1 = dataclasses.replace(profile.l1, rpc_port=base + len(chains))
    return dataclasses.replace(profile, chains=chains, l1=l1)


def _toml_string(value: str) -> str:
    """A TOML basic string (JSON string escaping is valid TOML)."""
    return json.dumps(value, ensure_ascii=False)


def dump_profile(profile: Profile) -> str:
    """Render ``profile`` as TOML that ``parse_profile`` reads back to an equal profile."""
    lines = [f"name = {_toml_string(profile.name)}"]
    lines.append(f"description = {_toml_string(profile.description)}")
    for chain in profile.chains:
        lines += [
            "",
            "[[chains]]",
            f"name = {_toml_string(chain.name)}",
            f"chain_id = {chain.chain_id}",
            f"block_time_ms = {chain.block_time_ms}",
            f"rpc_port = {chain.rpc_port}",
            f"private = {'true' if chain.private else 'false'}",
        ]
        for token in chain.tokens:
            accounts = ", ".join(_toml_string(a) for a in token.accounts)
            lines += [
                "",
                "[[chains.tokens]]",
                f"token = {_toml_string(token.token)}",
                f"accounts = [{accounts}]",
                f"admin = {'true' if token.admin else 'false'}",
            ]
    lines += [
        "",
        "[l1]",
        f"chain_id = {profile.l1.chain_id}",
        f"block_time_ms = {profile.l1.block_time_ms}",
        f"rpc_port = {profile.l1.rpc_port}",
        f"settle_interval_ms = {profile.settle_interval_ms}",
    ]
    return "\n".join(lines) + "\n"
