"""The dashboard app: seven views in tabs, detail screens, and the one thread that feeds them.

`make_app(monitor)` builds it for the CLI (`atlasdev up`) and for the tests alike. The app never
touches the node: a single long-lived worker thread runs `Feed.poll` against the Monitor (the
node's narrow read interface) four times a second (once a second while the sequencer is busy)
and posts each `Update` back; the UI thread only renders it. At most one update is in flight, so
a busy UI slows the feed instead of queueing work, and a busy node never stalls the UI. Between
two refreshes the feed thread sleeps on events, not in short polling slices: every wake-up of a
thread takes the GIL from the sequencer. Detail screens load what they show in their own thread
workers.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import tzinfo
from typing import Any, ClassVar, Protocol, cast

from textual import on, work
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Footer, Header, TabbedContent, TabPane
from textual.worker import Worker, get_current_worker

from ..engine.monitor import SearchHit
from .accounts import AccountsView
from .blocks import BlocksView
from .charts import ChartsView
from .detail import AddressScreen, BlockScreen, TxScreen
from .feed import VIEWS, Demand, Feed, Update
from .help import HelpScreen
from .log import LogView
from .messages import MessagesView
from .overview import OverviewView
from .proofs import ProofsView
from .search import SearchScreen

REFRESH_HZ = 4.0
BUSY_REFRESH_HZ = 1.0  # while the sequencer is busy, leave it the GIL (benchmarks/tui.py)
CANCEL_CHECK_S = 1.0  # the feed thread's longest sleep before it checks for cancellation
BUSY_TPS = 50.0  # a chain sealing more than this, or any mempool backlog, makes the node busy
TITLES = {
    "overview": "Overview",
    "blocks": "Blocks",
    "proofs": "Proofs",
    "messages": "Messages",
    "charts": "Charts",
    "accounts": "Accounts",
    "log": "Log",
}


class View(Protocol):
    """What every tab's widget offers the app."""

    def apply(self, update: Update) -> None:
        """Render what this refresh read (fields this view does not use may be None)."""

    def focus_target(self) -> Widget | None:
        """The widget that takes the focus when the view is shown (None: nothing)."""


class Polled(Message):
    """One refresh read by the feed thread, for the UI to render."""

    def __init__(self, update: Update) -> None:
        super().__init__()
        self.update = update


class FeedFailed(Message):
    """A refresh raised (typically: the node is stopping under the dashboard)."""

    def __init__(self, error: str) -> None:
        super().__init__()
        self.error = error


class AtlasApp(App[None]):
    """The atlasdev dashboard over one Monitor."""

    CSS_PATH = "atlas.tcss"
    TITLE = "atlasdev"
    ENABLE_COMMAND_PALETTE = False
    BINDINGS: ClassVar[list[BindingType]] = [
        # The tabs carry the numbers; the footer shows the range once.
        Binding("1", "show('overview')", "Views", key_display=f"1–{len(VIEWS)}"),
        *(
            Binding(str(i), f"show('{view}')", TITLES[view], show=False)
            for i, view in enumerate(VIEWS, start=1)
            if i > 1
        ),
        Binding("slash", "search", "Search", key_display="/"),
        Binding("question_mark", "help", "Help", key_display="?"),
        Binding("q", "quit", "Quit"),
        Binding("ctrl+c", "quit", "Quit", show=False, priority=True),
    ]

    def __init__(
        self,
        monitor: Any,
        *,
        on_quit: Callable[[], None] | None = None,
        clock: Callable[[], float] = time.time,
        tz: tzinfo | None = None,
        refresh_hz: float = REFRESH_HZ,
        busy_refresh_hz: float = BUSY_REFRESH_HZ,
    ) -> None:
        super().__init__()
        self.monitor = monitor
        self.on_quit = on_quit
        self.clock = clock  # wall clock for ages; tests fix it
        self.tz = tz  # None: local time
        self.period = 1.0 / refresh_hz
        self.busy_period = 1.0 / min(refresh_hz, busy_refresh_hz)
        self.feed = Feed(monitor)
        self.demand = Demand()
        self.updates = 0  # refreshes rendered so far (tests wait on it)
        self.feed_error: str | None = None
        self.chain_names: dict[int, str] = {}
        self._applied = threading.Event()
        self._wake = threading.Event()

    # ---- layout ------------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        # Kept as attributes: app.query() only searches the active screen, and the feed
        # renders into the views while a detail screen covers them.
        self.overview = OverviewView(id="overview-view")
        self.blocks = BlocksView(id="blocks-view")
        self.proofs = ProofsView(id="proofs-view")
        self.messages = MessagesView(id="messages-view")
        self.charts = ChartsView(id="charts-view")
        self.accounts = AccountsView(id="accounts-view")
        self.log_view = LogView(id="log-view")
        views: dict[str, View] = {
            "overview": self.overview,
            "blocks": self.blocks,
            "proofs": self.proofs,
            "messages": self.messages,
            "charts": self.charts,
            "accounts": self.accounts,
            "log": self.log_view,
        }
        self.views = views
        yield Header()
        self.tabs = TabbedContent(initial="overview", id="views")
        with self.tabs:
            for i, (name, widget) in enumerate(views.items(), start=1):
                with TabPane(f"{i} {TITLES[name]}", id=name):
                    yield cast(Widget, widget)
        yield Footer()

    def on_mount(self) -> None:
        self._feed_loop()

    def on_unmount(self) -> None:
        self._applied.set()  # the feed thread stops waiting and sees that the app is closing
        self._wake.set()

    @property
    def view(self) -> str:
        """The view whose tab is active (even while a detail screen covers it)."""
        return self.tabs.active

    # ---- the feed ----------------------------------------------------------------------------
    @work(thread=True, exclusive=True, group="feed", name="feed", exit_on_error=False)
    def _feed_loop(self) -> None:
        worker = get_current_worker()
        while not worker.is_cancelled:
            started = time.monotonic()
            try:
                message: Message = Polled(self.feed.poll(self.demand))
            except Exception as exc:  # the node stopping under us; keep trying, slowly
                message = FeedFailed(f"{type(exc).__name__}: {exc}")
            self._applied.clear()
            if not self.post_message(message):
                return  # the app is closing
            while not self._applied.wait(CANCEL_CHECK_S):  # one update in flight at most
                if worker.is_cancelled:
                    return
            if isinstance(message, Polled):
                delay = self.busy_period if busy(message.update) else self.period
            else:
                delay = 1.0
            self._sleep(worker, started + delay)

    def _sleep(self, worker: Worker[None], until: float) -> None:
        """Wait until ``until`` or a wake-up (a view change, or the app unmounting)."""
        while not worker.is_cancelled:
            left = until - time.monotonic()
            if left <= 0 or self._wake.wait(min(CANCEL_CHECK_S, left)):
                break
        self._wake.clear()

    def refresh_now(self) -> None:
        """Ask the feed for a refresh without waiting for the next tick (after a view change)."""
        self._update_demand()
        self._wake.set()

    def _update_demand(self, **changes: Any) -> None:
        view = self.view if len(self.screen_stack) == 1 else ""
        current = self.demand
        self.demand = Demand(
            view=changes.get("view", view),
            log_filter=changes.get("log_filter", current.log_filter),
            log_generation=changes.get("log_generation", current.log_generation),
        )

    @on(Polled)
    def _render_update(self, message: Polled) -> None:
        try:
            update = message.update
            if update.network is not None:
                self.sub_title = f"{update.network.name} · {update.network.data_dir}"
            for c in update.chains:
                self.chain_names[c.chain_id] = c.name
            if self.feed_error is not None:
                self.feed_error = None
                self.overview.show_error(None)
            for view in self.views.values():
                view.apply(update)
            self.updates += 1
        finally:
            self._update_demand()
            self._applied.set()

    @on(FeedFailed)
    def _show_feed_error(self, message: FeedFailed) -> None:
        self.feed_error = message.error
        self.overview.show_error(message.error)
        self._applied.set()

    # ---- navigation --------------------------------------------------------------------------
    def action_show(self, view: str) -> None:
        while len(self.screen_stack) > 1:  # a view key leaves any detail screen
            self.pop_screen()
        self.tabs.active = view

    @on(TabbedContent.TabActivated)
    def _view_changed(self, event: TabbedContent.TabActivated) -> None:
        pane = event.pane
        if pane is not None and pane.id is not None:
            self.call_after_refresh(self._focus_view, pane.id)
        self.refresh_now()

    def _focus_view(self, view: str) -> None:
        if self.tabs.active != view:
            return  # another view key came first: focusing this hidden view would pull it back
        if len(self.screen_stack) > 1:
            return  # a search or detail screen opened first: its focus is not the view's to take
        target = self.views[view].focus_target()
        if target is not None:
            target.focus()
        else:  # a widget left focused in a hidden pane would pull its tab back
            self.screen.set_focus(None)

    def set_log_filter(self, text: str) -> None:
        """The log view's filter changed: the feed restarts the log from the buffer."""
        self._update_demand(log_filter=text, log_generation=self.demand.log_generation + 1)
        self._wake.set()

    def open_block(self, chain_id: int, number: int) -> None:
        self.push_screen(BlockScreen(chain_id, number))
        self._update_demand(view="")

    def open_tx(self, chain_id: int, tx_hash: bytes) -> None:
        self.push_screen(TxScreen(chain_id, tx_hash))
        self._update_demand(view="")

    def open_address(self, address: bytes) -> None:
        self.push_screen(AddressScreen(address))
        self._update_demand(view="")

    def chain_name(self, chain_id: int) -> str:
        return self.chain_names.get(chain_id, str(chain_id))

    def action_search(self) -> None:
        self.push_screen(SearchScreen(), self._open_hit)

    def _open_hit(self, hit: SearchHit | None) -> None:
        if hit is None:
            return
        if hit.kind == "tx" and hit.tx_hash is not None:
            self.open_tx(hit.chain_id, hit.tx_hash)
        elif hit.kind == "block" and hit.block_number is not None:
            self.open_block(hit.chain_id, hit.block_number)
        elif hit.kind == "address" and hit.address is not None:
            self.open_address(hit.address)

    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    async def action_quit(self) -> None:
        if self.on_quit is not None:
            self.on_quit()
        self.exit()


def busy(update: Update) -> bool:
    """Whether the node is under load: then the dashboard refreshes less often (one update a
    second still shows every block; the sequencer gets the interpreter back)."""
    return any(c.mempool > 0 or c.tps > BUSY_TPS for c in update.chains)


def make_app(
    monitor: Any,
    *,
    on_quit: Callable[[], None] | None = None,
    clock: Callable[[], float] = time.time,
    tz: tzinfo | None = None,
    refresh_hz: float = REFRESH_HZ,
    busy_refresh_hz: float = BUSY_REFRESH_HZ,
) -> AtlasApp:
    """The dashboard over ``monitor`` (an `atlasdev.engine.monitor.Monitor`, or a fake with the
    same methods). ``on_quit`` runs when the user quits; ``clock`` and ``tz`` fix ages and times
    for snapshot tests; the refresh rates are per second, idle and under load."""
    return AtlasApp(
        monitor,
        on_quit=on_quit,
        clock=clock,
        tz=tz,
        refresh_hz=refresh_hz,
        busy_refresh_hz=busy_refresh_hz,
    )
