"""The dashboard driven by Textual's pilot against a real node: what it shows is the node's data."""

from __future__ import annotations

import re

from eth_utils import to_checksum_address
from textual.pilot import Pilot
from textual.widgets import DataTable, Input, Log, OptionList

from atlasdev.engine.accounts import dev_accounts
from atlasdev.tui import format as fmt
from atlasdev.tui import make_app
from atlasdev.tui.detail import AddressScreen, BlockScreen, TxScreen
from atlasdev.tui.feed import VIEWS
from atlasdev.tui.help import HelpScreen
from atlasdev.tui.linetable import LineTable
from atlasdev.tui.search import SearchScreen
from tests.tui.helpers import ALPHA, BETA, Live, run, screen_text, wait_for, wait_for_text


def heights(text: str) -> list[int]:
    return [int(h.replace(",", "")) for h in re.findall(r"height\s+#([\d,]+)", text)]


def test_overview_shows_every_chain_and_a_growing_height(live: Live) -> None:
    app = make_app(live.monitor)

    async def scenario(pilot: Pilot) -> None:
        text = await wait_for_text(
            pilot,
            "alpha · id 271 · public",
            "beta · id 272 · public",
            "l1 · id 900 · L1 (settlement)",
            "gateway",
        )
        first = heights(text)
        assert len(first) == 3  # the two L2s and the L1
        assert "final when sealed" in text
        assert first[0] <= live.node.chains[ALPHA].head.number
        assert "not running" in text  # prover, verified height, gateway
        assert "http://127.0.0.1:" in text
        await wait_for(
            pilot, lambda: heights(screen_text(app))[0] > first[0], "alpha's height to grow"
        )

    run(app, scenario)


def test_number_keys_switch_views_and_focus_them(live: Live) -> None:
    app = make_app(live.monitor)
    marks = {
        "overview": "gateway",
        "blocks": "state root",
        "proofs": "prover not running",
        "messages": "alpha → beta",
        "charts": "inclusion latency",
        "accounts": dev_accounts()[9].checksum_address,
        "log": "alpha sealed #",
    }

    async def scenario(pilot: Pilot) -> None:
        for key, view in zip("2345671", [*VIEWS[1:], VIEWS[0]], strict=True):
            # a key pressed while the previous view is still moving its focus (call_after_refresh)
            # can be lost on a loaded machine, as in CI; a person would press it again
            for attempt in range(3):
                await pilot.press(key)
                try:
                    await wait_for(pilot, lambda v=view: app.view == v, f"view {view}", tries=100)
                    break
                except AssertionError:
                    if attempt == 2:
                        raise
            await wait_for_text(pilot, marks[view])
        await pilot.press("2")
        await wait_for(
            pilot,
            lambda: app.focused is not None and app.focused.id == f"blocks-table-{ALPHA}",
            "the alpha blocks table to take the focus",
        )

    run(app, scenario)


def test_enter_opens_the_block_under_the_cursor(live: Live) -> None:
    app = make_app(live.monitor)

    async def scenario(pilot: Pilot) -> None:
        await pilot.press("2")
        table = app.blocks.query_one(f"#blocks-table-{ALPHA}", LineTable)
        await wait_for(pilot, lambda: table.row_count > 5, "blocks in the alpha table")
        await wait_for(pilot, lambda: app.focused is table, "focus on the alpha table")
        assert table.cursor_key == max(table.keys)  # newest on top, the cursor on it
        await pilot.press("down", "down", "down")
        number = table.cursor_key
        assert isinstance(number, int)
        top = max(table.keys)
        await wait_for(pilot, lambda: max(table.keys) > top, "a new block")
        assert table.cursor_key == number  # moved down, the cursor stays on its block
        shown = table.row_text(number)
        block = live.monitor.block(ALPHA, number)
        assert block is not None
        assert shown.split()[:2] == [str(number), fmt.clock_time(block.block.timestamp, None)]
        assert fmt.short(block.block.state_root, 4) in shown
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, BlockScreen), "the block screen")
        detail = live.monitor.block(ALPHA, number)
        assert detail is not None
        assert app.screen.number == number  # type: ignore[attr-defined]
        await wait_for_text(
            pilot,
            f"Block #{number:,} on alpha",
            "0x" + detail.block.hash.hex(),
            "0x" + detail.block.state_root.hex(),
            "0x" + detail.parent_hash.hex(),
        )
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.view == "blocks" and len(app.screen_stack) == 1, "back")

    run(app, scenario)


def test_block_then_transaction_detail_equal_the_node(live: Live) -> None:
    tx = live.monitor.tx(ALPHA, live.transfer)
    assert tx is not None
    number = tx.tx.block_number
    app = make_app(live.monitor)

    async def scenario(pilot: Pilot) -> None:
        app.open_block(ALPHA, number)
        await wait_for(pilot, lambda: app.screen.query("#block-txs"), "the block screen")
        table = app.screen.query_one("#block-txs", DataTable)
        await wait_for(pilot, lambda: table.row_count > 0, "the block's transactions")
        block = live.monitor.block(ALPHA, number)
        assert block is not None and table.row_count == len(block.txs)
        table.move_cursor(row=table.get_row_index(live.transfer.hex()))
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, TxScreen), "the transaction screen")
        await wait_for_text(
            pilot,
            "0x" + live.transfer.hex(),
            "success",
            to_checksum_address(tx.tx.sender),
            to_checksum_address(tx.tx.to or b""),
            "1 ETH",
            f"#{number:,}, index {tx.tx.index}",
            f"{tx.tx.gas_used:,} of {tx.gas_limit:,}",
        )
        await pilot.press("c")
        assert app.clipboard == "0x" + live.transfer.hex()
        await pilot.press("b")  # back to its block
        await wait_for(pilot, lambda: isinstance(app.screen, BlockScreen), "its block")
        await pilot.press("escape", "escape", "escape")
        await wait_for(pilot, lambda: len(app.screen_stack) == 1, "the views again")

    run(app, scenario)


def test_failed_transaction_and_message_show_the_receipt(live: Live) -> None:
    failed = live.monitor.tx(ALPHA, live.failed)
    sent = live.monitor.tx(ALPHA, live.message)
    assert failed is not None and failed.tx.status == 0
    assert sent is not None and sent.tx.message_hash is not None and sent.logs
    app = make_app(live.monitor)

    async def scenario(pilot: Pilot) -> None:
        app.open_tx(ALPHA, live.failed)
        await wait_for_text(pilot, f"failed: {failed.tx.reason}")
        await pilot.press("escape")
        app.open_tx(ALPHA, live.message)
        await wait_for_text(
            pilot,
            "0x" + sent.tx.message_hash.hex(),  # type: ignore[union-attr]
            "log 0",
            "topic 0",
            "0x" + sent.logs[0].topics[0].hex(),
        )

    run(app, scenario)


async def search(pilot: Pilot, text: str) -> None:
    await pilot.press("slash")
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, SearchScreen), "the search box")
    pilot.app.screen.query_one(Input).value = text
    await pilot.press("enter")


def test_search_finds_a_transaction_a_block_an_address(live: Live) -> None:
    app = make_app(live.monitor)
    tx = live.monitor.tx(ALPHA, live.transfer)
    assert tx is not None
    dev1 = dev_accounts()[1]

    async def scenario(pilot: Pilot) -> None:
        await search(pilot, "0x" + live.transfer.hex())
        await wait_for(pilot, lambda: isinstance(app.screen, TxScreen), "the transaction")
        assert app.screen.tx_hash == live.transfer  # type: ignore[attr-defined]
        await wait_for_text(pilot, "0x" + live.transfer.hex(), "success")
        await pilot.press("escape")

        # block 1 exists on every chain: the search lists them all, enter opens the first
        await search(pilot, "1")
        options = app.screen.query_one(OptionList)
        await wait_for(pilot, lambda: options.option_count == 3, "three matches")
        text = screen_text(app)
        assert "block #1 on alpha" in text and "block #1 on beta" in text
        assert "block #1 on l1" in text
        await pilot.press("down", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, BlockScreen), "block 1")
        assert (app.screen.chain_id, app.screen.number) == (BETA, 1)  # type: ignore[attr-defined]
        block = live.monitor.block(BETA, 1)
        assert block is not None
        await wait_for_text(pilot, "Block #1 on beta", "0x" + block.block.hash.hex())
        await pilot.press("escape")

        # the tx's block by its hash
        by_hash = live.monitor.block(ALPHA, tx.tx.block_number)
        assert by_hash is not None
        await search(pilot, by_hash.block.hash.hex())
        await wait_for(pilot, lambda: isinstance(app.screen, BlockScreen), "block by hash")
        assert app.screen.number == tx.tx.block_number  # type: ignore[attr-defined]
        await pilot.press("escape")

        await search(pilot, dev1.checksum_address)
        await wait_for(pilot, lambda: isinstance(app.screen, AddressScreen), "the address")
        info = live.monitor.address(dev1.address)
        await wait_for_text(pilot, dev1.checksum_address, "dev account #1")
        table = app.screen.query_one(DataTable)
        await wait_for(pilot, lambda: table.row_count == 3, "balances on every chain")
        shown = [str(table.get_row_at(i)[2]) for i in range(3)]
        assert shown[2] == "10000 ETH"  # the L1: untouched since genesis
        assert shown[1] == "10000 ETH"  # beta: untouched since genesis
        assert info.balances[0].balance > 10_000 * 10**18  # alpha: received 1 ETH
        await pilot.press("escape")

        await search(pilot, "not-a-thing")
        await wait_for_text(pilot, "nothing matches 'not-a-thing'")
        await pilot.press("escape")
        await wait_for(pilot, lambda: len(app.screen_stack) == 1, "the search to close")

    run(app, scenario)


def test_accounts_show_dev_addresses_and_copy_keys(live: Live) -> None:
    app = make_app(live.monitor)
    devs = dev_accounts()

    async def scenario(pilot: Pilot) -> None:
        await pilot.press("6")
        await wait_for_text(pilot, *(a.checksum_address for a in devs))
        table = app.accounts.query_one(DataTable)
        await wait_for(pilot, lambda: app.focused is table, "focus on the accounts")
        await pilot.press("c")
        assert app.clipboard == devs[0].checksum_address
        await pilot.press("down", "k")
        assert app.clipboard == devs[1].private_key_hex

    run(app, scenario)


def test_log_filter_keeps_matching_lines(live: Live) -> None:
    app = make_app(live.monitor)
    tx = live.monitor.tx(ALPHA, live.transfer)
    assert tx is not None
    wanted = f"alpha sealed #{tx.tx.block_number}:"

    async def scenario(pilot: Pilot) -> None:
        await pilot.press("7")
        log = app.log_view.query_one(Log)
        await wait_for(pilot, lambda: any(wanted in ln for ln in log.lines), "the tx's block")
        await pilot.press("f")
        await pilot.press(*f"#{tx.tx.block_number}:")
        await wait_for(
            pilot,
            lambda: log.lines and all(f"#{tx.tx.block_number}:" in ln for ln in log.lines),
            "only the matching lines",
        )
        assert any(wanted in ln for ln in log.lines)
        await pilot.press(*"zz-no-such-line")
        await wait_for(pilot, lambda: app.feed.tick > 0 and not log.lines, "an empty log")
        await pilot.press("escape")
        assert isinstance(app.focused, Log)

    run(app, scenario)


def test_help_lists_the_keys(live: Live) -> None:
    app = make_app(live.monitor)

    async def scenario(pilot: Pilot) -> None:
        await pilot.press("question_mark")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen), "help")
        await wait_for_text(pilot, "Search", "Open block", "Copy private key", "Filter")
        await pilot.press("escape")
        await wait_for(pilot, lambda: len(app.screen_stack) == 1, "help to close")

    run(app, scenario)


def test_q_quits_and_calls_on_quit(live: Live) -> None:
    quit_calls: list[int] = []
    app = make_app(live.monitor, on_quit=lambda: quit_calls.append(1))

    async def scenario(pilot: Pilot) -> None:
        await wait_for(pilot, lambda: app.updates > 0, "a first refresh")
        await pilot.press("q")
        await wait_for(pilot, lambda: not app.is_running, "the app to exit")

    run(app, scenario)
    assert quit_calls == [1]
    assert app.return_code == 0
    assert live.node.chains[ALPHA].head.number > 0  # type: ignore[attr-defined]
