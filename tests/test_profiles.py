"""Tests for atlasdev.profiles: builtin profiles, validation messages, port bases, round trips."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from atlasdev.profiles import (
    AccessToken,
    ChainConfig,
    Profile,
    ProfileError,
    builtin_profiles,
    dump_profile,
    load_profile,
    parse_profile,
    with_port_base,
)

SRC = "profiles/test.toml"

ALPHA = """
[[chains]]
name = "alpha"
chain_id = 271
"""


def error_of(text: str, source: str = SRC) -> str:
    with pytest.raises(ProfileError) as info:
        parse_profile(text, source)
    message = str(info.value)
    assert "\n" not in message
    return message


# --- builtin profiles -------------------------------------------------------------------------


def test_builtin_profiles_lists_all_three() -> None:
    assert builtin_profiles() == ["default", "prividium", "solo"]


def test_default_profile() -> None:
    profile = load_profile("default")
    assert profile == Profile(
        name="default",
        description="Two public L2 chains",
        chains=(
            ChainConfig("alpha", 271, 250, 8545, False),
            ChainConfig("beta", 272, 250, 8546, False),
        ),
        source="builtin:default",
    )


def test_solo_profile() -> None:
    profile = load_profile("solo")
    assert profile.name == "solo"
    assert profile.source == "builtin:solo"
    assert profile.chains == (ChainConfig("alpha", 271, 250, 8545, False),)


def test_prividium_profile() -> None:
    profile = load_profile("prividium")
    assert profile.name == "prividium"
    assert [(c.chain_id, c.rpc_port, c.private) for c in profile.chains] == [
        (271, 8545, False),
        (273, 8547, True),
    ]


@pytest.mark.parametrize("name", ["default", "solo", "prividium"])
def test_every_builtin_loads_and_is_consistent(name: str) -> None:
    profile = load_profile(name)
    assert profile.name == name
    assert profile.description
    assert profile.chains
    assert len({c.chain_id for c in profile.chains}) == len(profile.chains)
    assert len({c.rpc_port for c in profile.chains}) == len(profile.chains)


def test_builtin_files_match_loaded_profiles() -> None:
    folder = Path(__file__).resolve().parent.parent / "profiles"
    assert (folder / "__init__.py").is_file()
    for name in builtin_profiles():
        path = folder / f"{name}.toml"
        from_file = load_profile(str(path))
        assert from_file.source == str(path)
        assert from_file.chains == load_profile(name).chains


def test_unknown_name_lists_available_profiles() -> None:
    with pytest.raises(ProfileError) as info:
        load_profile("nope")
    message = str(info.value)
    assert "'nope'" in message
    for name in ("default", "prividium", "solo"):
        assert name in message


def test_load_from_path(tmp_path: Path) -> None:
    path = tmp_path / "mine.toml"
    path.write_text(ALPHA, encoding="utf-8")
    profile = load_profile(str(path))
    assert profile.name == "mine"  # defaults to the file stem
    assert profile.description == ""
    assert profile.source == str(path)


def test_missing_file_names_the_path(tmp_path: Path) -> None:
    path = tmp_path / "absent.toml"
    with pytest.raises(ProfileError, match=re.escape(f"{path}: cannot read profile")):
        load_profile(str(path))


def test_non_utf8_file(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_bytes(b"name = '\xff'\n")
    with pytest.raises(ProfileError, match=re.escape(f"{path}: cannot read profile: not valid")):
        load_profile(str(path))


# --- defaults ---------------------------------------------------------------------------------


def test_optional_keys_default() -> None:
    profile = parse_profile(ALPHA + '\n[[chains]]\nname = "beta"\nchain_id = 272\n', SRC)
    assert profile.name == "test"
    assert profile.chains == (
        ChainConfig("alpha", 271, 250, 8545, False),
        ChainConfig("beta", 272, 250, 8546, False),  # rpc_port defaults to 8545 + index
    )


def test_builtin_source_default_name() -> None:
    assert parse_profile(ALPHA, "builtin:zeta").name == "zeta"


# --- validation messages ----------------------------------------------------------------------


def test_invalid_toml_includes_tomllib_message() -> None:
    message = error_of("name = \n")
    assert message.startswith(f"{SRC}: invalid TOML: ")
    assert "line 1" in message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # unknown keys
        ('colour = "red"\n' + ALPHA, f"{SRC}: colour: unknown key (expected one of: "),
        (ALPHA + "gas = 1\n", f"{SRC}: chains[0].gas: unknown key (expected one of: "),
        # missing / empty chains
        ('name = "x"\n', f"{SRC}: chains: required key is missing"),
        ("chains = []\n", f"{SRC}: chains: must contain at least one chain"),
        ("chains = 5\n", f"{SRC}: chains: must be an array of [[chains]] tables, got int"),
        ("chains = [1]\n", f"{SRC}: chains[0]: must be a table, got 1"),
        ("[chains]\nname = 'a'\n", f"{SRC}: chains: must be an array of [[chains]] tables, got"),
        ("[[chains]]\nchain_id = 1\n", f"{SRC}: chains[0].name: required key is missing"),
        ("[[chains]]\nname = 'a'\n", f"{SRC}: chains[0].chain_id: required key is missing"),
        # top-level types
        ("name = 5\n" + ALPHA, f"{SRC}: name: must be a string, got 5"),
        ('name = ""\n' + ALPHA, f"{SRC}: name: must not be empty"),
        ("description = true\n" + ALPHA, f"{SRC}: description: must be a string, got True"),
        # chain name
        (
            "[[chains]]\nname = 7\nchain_id = 1\n",
            f"{SRC}: chains[0].name: must be a string, got 7",
        ),
        (
            "[[chains]]\nname = 'Alpha'\nchain_id = 1\n",
            f"{SRC}: chains[0].name: must match [a-z][a-z0-9-]{{0,31}}, got 'Alpha'",
        ),
        (
            "[[chains]]\nname = '1st'\nchain_id = 1\n",
            f"{SRC}: chains[0].name: must match [a-z][a-z0-9-]{{0,31}}, got '1st'",
        ),
        (
            f"[[chains]]\nname = '{'a' * 33}'\nchain_id = 1\n",
            f"{SRC}: chains[0].name: must match [a-z][a-z0-9-]{{0,31}}, got 'aaaa",
        ),
        # chain_id
        (
            ALPHA + "[[chains]]\nname = 'beta'\nchain_id = 'abc'\n",
            f"{SRC}: chains[1].chain_id: must be a positive integer, got 'abc'",
        ),
        (
            "[[chains]]\nname = 'a'\nchain_id = true\n",
            f"{SRC}: chains[0].chain_id: must be a positive integer, got True",
        ),
        (
            "[[chains]]\nname = 'a'\nchain_id = 0\n",
            f"{SRC}: chains[0].chain_id: must be a positive integer, got 0",
        ),
        (
            "[[chains]]\nname = 'a'\nchain_id = -3\n",
            f"{SRC}: chains[0].chain_id: must be a positive integer, got -3",
        ),
        (
            "[[chains]]\nname = 'a'\nchain_id = 1.5\n",
            f"{SRC}: chains[0].chain_id: must be a positive integer, got 1.5",
        ),
        (
            f"[[chains]]\nname = 'a'\nchain_id = {2**53}\n",
            f"{SRC}: chains[0].chain_id: must be at most 2**53-1, got {2**53}",
        ),
        # block_time_ms
        (
            ALPHA + "block_time_ms = 9\n",
            f"{SRC}: chains[0].block_time_ms: must be an integer in 10..60000, got 9",
        ),
        (
            ALPHA + "block_time_ms = 60001\n",
            f"{SRC}: chains[0].block_time_ms: must be an integer in 10..60000, got 60001",
        ),
        (
            ALPHA + "block_time_ms = false\n",
            f"{SRC}: chains[0].block_time_ms: must be an integer in 10..60000, got False",
        ),
        # rpc_port
        (
            ALPHA + "rpc_port = 0\n",
            f"{SRC}: chains[0].rpc_port: must be an integer in 1..65535, got 0",
        ),
        (
            ALPHA + "rpc_port = 65536\n",
            f"{SRC}: chains[0].rpc_port: must be an integer in 1..65535, got 65536",
        ),
        (
            ALPHA + "rpc_port = '8545'\n",
            f"{SRC}: chains[0].rpc_port: must be an integer in 1..65535, got '8545'",
        ),
        # private
        (
            ALPHA + "private = 'yes'\n",
            f"{SRC}: chains[0].private: must be a boolean (true/false), got 'yes'",
        ),
        (
            ALPHA + "private = 1\n",
            f"{SRC}: chains[0].private: must be a boolean (true/false), got 1",
        ),
        # duplicates
        (
            ALPHA + "[[chains]]\nname = 'alpha'\nchain_id = 272\n",
            f"{SRC}: chains[1].name: duplicate chain name 'alpha' (also used by chains[0])",
        ),
        (
            ALPHA + "[[chains]]\nname = 'beta'\nchain_id = 271\n",
            f"{SRC}: chains[1].chain_id: duplicate chain id 271 (also used by chains[0])",
        ),
        (
            ALPHA + "[[chains]]\nname = 'beta'\nchain_id = 272\nrpc_port = 8545\n",
            f"{SRC}: chains[1].rpc_port: duplicate rpc port 8545 (also used by chains[0])",
        ),
    ],
)
def test_validation_errors(text: str, expected: str) -> None:
    assert error_of(text).startswith(expected)


def test_example_message_from_the_spec() -> None:
    text = ALPHA + "[[chains]]\nname = 'beta'\nchain_id = 'abc'\n"
    assert error_of(text, "profiles/default.toml") == (
        "profiles/default.toml: chains[1].chain_id: must be a positive integer, got 'abc'"
    )


def test_long_values_are_shortened_to_one_line() -> None:
    message = error_of(ALPHA + f"private = '''{'x' * 500}\nline two'''\n")
    assert len(message) < 200


def test_boundaries_accepted() -> None:
    text = (
        f"[[chains]]\nname = 'a{'-' * 31}'\nchain_id = {2**53 - 1}\n"
        "block_time_ms = 10\nrpc_port = 65535\nprivate = true\n"
        "[[chains]]\nname = 'b'\nchain_id = 1\nblock_time_ms = 60000\nrpc_port = 1\n"
    )
    profile = parse_profile(text, SRC)
    assert profile.chains[0] == ChainConfig("a" + "-" * 31, 2**53 - 1, 10, 65535, True)
    assert profile.chains[1] == ChainConfig("b", 1, 60000, 1, False)


# --- port base --------------------------------------------------------------------------------


def test_with_port_base() -> None:
    profile = load_profile("prividium")
    moved = with_port_base(profile, 20000)
    assert [c.rpc_port for c in moved.chains] == [20000, 20001]
    assert moved.l1.rpc_port == 20002  # the L1 after the L2s
    assert [c.chain_id for c in moved.chains] == [271, 273]
    assert moved.name == profile.name and moved.source == profile.source
    assert [c.rpc_port for c in profile.chains] == [8545, 8547]  # original untouched
    assert profile.l1.rpc_port == 8544


def test_with_port_base_upper_edge() -> None:
    moved = with_port_base(load_profile("default"), 65533)
    assert [c.rpc_port for c in moved.all_chains] == [65533, 65534, 65535]


@pytest.mark.parametrize("base", [0, -1, 65534, True])
def test_with_port_base_out_of_range(base: int) -> None:
    with pytest.raises(ProfileError, match=r"^builtin:default: rpc_port: port base"):
        with_port_base(load_profile("default"), base)


# --- round trip -------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["default", "solo", "prividium"])
def test_dump_parse_round_trip(name: str) -> None:
    profile = with_port_base(load_profile(name), 30000)
    again = parse_profile(dump_profile(profile), profile.source)
    assert again == profile


def test_dump_escapes_strings() -> None:
    profile = Profile('we"ird\\name', "line\nbreak ünïcode", load_profile("solo").chains, SRC)
    assert parse_profile(dump_profile(profile), SRC) == profile


# --- Prividium tokens ---------------------------------------------------------------------------

GAMMA = """
[[chains]]
name = "gamma"
chain_id = 273
private = true
"""
ADDR = "0x" + "ab" * 20


def test_prividium_profile_tokens() -> None:
    gamma = load_profile("prividium").chains[1]
    assert [(t.token, t.admin, len(t.accounts)) for t in gamma.tokens] == [
        ("gamma-admin-dev-token", True, 0),
        ("gamma-alice-dev-token", False, 1),
        ("gamma-bob-dev-token", False, 1),
    ]
    assert gamma.tokens[1].accounts == ("0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266",)
    assert load_profile("prividium").chains[0].tokens == ()


def test_tokens_parse_and_round_trip() -> None:
    text = GAMMA + (
        f'[[chains.tokens]]\ntoken = "abcdefgh"\naccounts = ["{ADDR.upper().replace("X", "x")}", '
        f'"{ADDR}"]\n[[chains.tokens]]\ntoken = "root-token=="\nadmin = true\n'
    )
    profile = parse_profile(text, SRC)
    assert profile.chains[0].tokens == (
        AccessToken("abcdefgh", (ADDR,), False),  # lowercased, duplicates dropped
        AccessToken("root-token==", (), True),
    )
    assert parse_profile(dump_profile(profile), SRC) == profile


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            ALPHA + f'[[chains.tokens]]\ntoken = "abcdefgh"\naccounts = ["{ADDR}"]\n',
            f"{SRC}: chains[0].tokens: only a private chain takes tokens (set private = true)",
        ),
        (GAMMA + "tokens = 5\n", f"{SRC}: chains[0].tokens: must be an array of"),
        (GAMMA + "tokens = [5]\n", f"{SRC}: chains[0].tokens[0]: must be a table, got 5"),
        (
            GAMMA + "[[chains.tokens]]\nadmin = true\n",
            f"{SRC}: chains[0].tokens[0].token: required key is missing",
        ),
        (
            GAMMA + '[[chains.tokens]]\ntoken = "abcdefgh"\nadmin = true\nrole = "x"\n',
            f"{SRC}: chains[0].tokens[0].role: unknown key (expected one of: token, accounts,",
        ),
        (
            GAMMA + '[[chains.tokens]]\ntoken = "short"\nadmin = true\n',
            f"{SRC}: chains[0].tokens[0].token: must match [A-Za-z0-9._~+/-]{{8,200}}=*, "
            "got 'short'",
        ),
        (
            GAMMA + '[[chains.tokens]]\ntoken = "has a space"\nadmin = true\n',
            f"{SRC}: chains[0].tokens[0].token: must match",
        ),
        (
            GAMMA + "[[chains.tokens]]\ntoken = 12345678\nadmin = true\n",
            f"{SRC}: chains[0].tokens[0].token: must match [A-Za-z0-9._~+/-]{{8,200}}=*, "
            "got 12345678",
        ),
        (
            GAMMA + '[[chains.tokens]]\ntoken = "abcdefgh"\nadmin = "yes"\n',
            f"{SRC}: chains[0].tokens[0].admin: must be a boolean (true/false), got 'yes'",
        ),
        (
            GAMMA + f'[[chains.tokens]]\ntoken = "abcdefgh"\naccounts = "{ADDR}"\n',
            f"{SRC}: chains[0].tokens[0].accounts: must be an array of 0x addresses, got",
        ),
        (
            GAMMA + f'[[chains.tokens]]\ntoken = "abcdefgh"\naccounts = ["{ADDR}", "0x12"]\n',
            f"{SRC}: chains[0].tokens[0].accounts[1]: must be a 0x address (40 hex digits), "
            "got '0x12'",
        ),
        (
            GAMMA + '[[chains.tokens]]\ntoken = "abcdefgh"\n',
            f"{SRC}: chains[0].tokens[0].accounts: a token that is not admin needs at least one "
            "account (or set admin = true)",
        ),
        (
            GAMMA + '[[chains.tokens]]\ntoken = "abcdefgh"\nadmin = true\n'
            '[[chains.tokens]]\ntoken = "abcdefgh"\nadmin = true\n',
            f"{SRC}: chains[0].tokens[1].token: duplicate token (also used by chains[0].tokens[0])",
        ),
    ],
)
def test_token_validation_errors(text: str, expected: str) -> None:
    assert error_of(text).startswith(expected)


# --- the L1 -------------------------------------------------------------------------------------


def test_every_network_has_the_default_l1() -> None:
    profile = parse_profile(ALPHA, SRC)
    assert profile.l1 == ChainConfig("l1", 900, 2000, 8544, False)
    assert profile.settle_interval_ms == 5000
    assert profile.all_chains == (*profile.chains, profile.l1)


def test_l1_table() -> None:
    text = ALPHA + "[l1]\nchain_id = 1\nblock_time_ms = 12000\nrpc_port = 9000\n"
    profile = parse_profile(text + "settle_interval_ms = 100\n", SRC)
    assert profile.l1 == ChainConfig("l1", 1, 12000, 9000, False)
    assert profile.settle_interval_ms == 100
    assert parse_profile(dump_profile(profile), SRC) == profile


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ("[l1]\nchain_id = 0\n", "l1.chain_id: must be an integer in 1..9007199254740991, got 0"),
        ("[l1]\nblock_time_ms = 5\n", "l1.block_time_ms: must be an integer in 10..60000"),
        ("[l1]\nrpc_port = 'x'\n", "l1.rpc_port: must be an integer in 1..65535, got 'x'"),
        ("[l1]\nsettle_interval_ms = 99\n", "l1.settle_interval_ms: must be an integer in 100.."),
        ("[l1]\nname = 'base'\n", "l1.name: unknown key (expected one of: chain_id, "),
        ("l1 = 3\n", "l1: must be a table, got 3"),
        ("[l1]\nchain_id = 271\n", "chains[0].chain_id: chain id 271 is the L1's"),
        ("[l1]\nrpc_port = 8545\n", "chains[0].rpc_port: rpc port 8545 is the L1's"),
    ],
)
def test_l1_errors(table: str, message: str) -> None:
    text = table + ALPHA if not table.startswith("[") else ALPHA + table
    assert message in error_of(text)


def test_an_l2_cannot_be_named_l1() -> None:
    assert "chains[0].name: chain name 'l1' is the L1's" in error_of(
        "[[chains]]\nname = 'l1'\nchain_id = 5\n"
    )
