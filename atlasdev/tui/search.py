"""Search (`/`): a block number, transaction hash, block hash or address, on every chain.

One hit opens at once; several (block 12 exists on every chain) are listed to choose from. The
screen dismisses with the chosen `SearchHit`, which the app opens.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, cast

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from ..engine.monitor import SearchHit
from . import format as fmt
from .detail import Loaded

if TYPE_CHECKING:
    from .app import AtlasApp


def merge_addresses(hits: list[SearchHit]) -> list[SearchHit]:
    """An address is one hit, whatever the number of chains (its view shows them all)."""
    out: list[SearchHit] = []
    seen: set[bytes] = set()
    for hit in hits:
        if hit.kind == "address" and hit.address is not None:
            if hit.address in seen:
                continue
            seen.add(hit.address)
        out.append(hit)
    return out


class SearchScreen(ModalScreen[SearchHit | None]):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    def __init__(self) -> None:
        super().__init__()
        self.hits: list[SearchHit] = []
        self.query_text = ""

    def compose(self) -> ComposeResult:
        with Vertical(id="search-box") as box:
            box.border_title = "search"
            yield Label("block number, transaction hash, block hash or address; enter searches")
            yield Input(placeholder="e.g. 42 or 0x…", id="search-input")
            yield Static("", id="search-status")
            yield OptionList(id="search-hits")

    def on_mount(self) -> None:
        self.query_one("#search-hits").display = False
        self.query_one("#search-input").focus()

    def action_cancel(self) -> None:
        self.dismiss(None)

    @on(Input.Submitted, "#search-input")
    def _submit(self, event: Input.Submitted) -> None:
        text = event.value.strip()
        if not text:
            return
        self.query_text = text
        self.query_one("#search-status", Static).update(Text("searching…", style="dim"))
        self._search(text)

    @work(thread=True, exclusive=True, exit_on_error=False)
    def _search(self, text: str) -> None:
        hits = cast("AtlasApp", self.app).monitor.search(text)
        self.post_message(Loaded((text, hits)))

    @on(Loaded)
    def _found(self, message: Loaded) -> None:
        text, hits = message.value
        if text != self.query_text:
            return  # an older search answered late
        hits = merge_addresses(hits)
        self.hits = hits
        status = self.query_one("#search-status", Static)
        options = self.query_one("#search-hits", OptionList)
        if not hits:
            status.update(
                Text(f"nothing matches {text!r} on any chain", style="yellow"),
            )
            options.display = False
            return
        if len(hits) == 1:
            self.dismiss(hits[0])
            return
        status.update(f"{len(hits)} matches; enter opens one")
        options.clear_options()
        options.add_options([Option(self._describe(h)) for h in hits])
        options.display = True
        options.highlighted = 0
        options.focus()

    def _describe(self, hit: SearchHit) -> str:
        name = cast("AtlasApp", self.app).chain_name(hit.chain_id)
        if hit.kind == "block":
            return f"block #{hit.block_number:,} on {name}"
        if hit.kind == "tx" and hit.tx_hash is not None:
            return f"transaction {fmt.short(hit.tx_hash, 8)} on {name}"
        return f"address {fmt.address(hit.address)}"

    @on(OptionList.OptionSelected, "#search-hits")
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(self.hits[event.option_index])
