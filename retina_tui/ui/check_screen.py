"""The check screen: a connectivity matrix from the marked pods, filled in as probes return.

Targets are typed as on the command line (`svc/web pod/db:5432 web.shop 10.0.0.1:80`,
with completion from the cluster's pods and Services). Each cell shows the observation
beside the prediction, mismatches in red; the panel below explains the highlighted cell
and shows its probes' raw output. `r` re-runs, `s` opens a shell in the row's source pod,
Enter moves into the explanation to scroll it, escape back, and escape again closes (node
debug pods are deleted; a pod's debug container is re-used later). Sources are pods and,
marked in the nodes view, nodes.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.screen import Screen
from textual.suggester import Suggester
from textual.widgets import DataTable, Input, Static
from textual.worker import WorkerCancelled, WorkerFailed

from retina_tui.errors import RetinaTuiError
from retina_tui.ui.keybar import KeyBar

if TYPE_CHECKING:
    from retina_tui.kube.client import KubeClient
    from retina_tui.probes.plan import Cell, ProbeCheck
    from retina_tui.sessions.hosts import HostSettings
    from retina_tui.ui.browser import PodRef

DEFAULT_TARGETS = ""


def cell_markup(cell: Cell) -> Text:
    """A cell for the matrix: observation, prediction, and its colour."""
    if cell.error is not None:
        return Text("error", style="bold red")
    text = Text()
    for index, check in enumerate(cell.checks):
        if index:
            text.append(" · ")
        seen = check.observation
        said = check.prediction.verdict
        if seen is None:
            text.append(f"{check.probe.kind} … ({said})", style="dim")
            continue
        match = check.match()
        style = "green" if match else "bold red"
        mark = "✓" if match else "✗"
        text.append(f"{mark} {check.probe.kind} {seen.outcome} ({said})", style=style)
    return text


def explain_cell(cell: Cell) -> Text:
    """The highlighted cell in full: each probe, its prediction, observation and raw output."""
    text = Text()
    text.append(f"{cell.source.label} → {cell.target.label}\n", style="bold")
    if cell.error is not None:
        text.append(f"{cell.error}\n", style="red")
        return text
    for line in cell.explanations():
        text.append(f"{line}\n", style="yellow")
    for check in cell.checks:
        _explain_check(text, check)
    return text


def _explain_check(text: Text, check: ProbeCheck) -> None:
    text.append(f"\n{check.probe.label}\n", style="bold")
    text.append(f"  predicted {check.prediction.verdict}: {check.prediction.reason}\n")
    seen = check.observation
    if seen is None:
        text.append("  running…\n", style="dim")
        return
    text.append(f"  observed {seen.outcome}: {seen.summary}\n")
    for line in seen.raw.splitlines()[:40]:
        text.append(f"  | {line}\n", style="dim")


class LastWordSuggester(Suggester):
    """Completes the word being typed (targets are space-separated) from known names."""

    def __init__(self, names: list[str]) -> None:
        super().__init__(use_cache=False, case_sensitive=True)
        self._names = sorted(names)

    async def get_suggestion(self, value: str) -> str | None:
        head, _, word = value.rpartition(" ")
        if not word:
            return None
        for name in self._names:
            if name.startswith(word) and name != word:
                return f"{head} {name}" if head else name
        return None


class CheckScreen(Screen[None]):
    """Sources by targets, predicted and observed."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Close", id="check_close"),
        Binding("r", "rerun", "Re-run", id="check_rerun"),
        Binding("s", "shell", "Shell in source", id="check_shell"),
        Binding("t", "focus_targets", "Targets", id="check_targets"),
    ]

    DEFAULT_CSS = """
    CheckScreen #check-head { height: auto; padding: 0 1; background: $boost; }
    CheckScreen #check-targets { margin: 0 1; }
    CheckScreen DataTable { height: auto; max-height: 50%; margin: 0 1; }
    CheckScreen #check-explain { height: 1fr; border-top: solid $accent; padding: 0 1; }
    """

    def __init__(
        self,
        client: KubeClient,
        sources: list[PodRef | str],
        hosts: HostSettings,
        *,
        suggestions: list[str],
        targets: str = DEFAULT_TARGETS,
    ) -> None:
        super().__init__()
        self.client = client
        self.sources = sources
        self.hosts = hosts
        self._suggestions = suggestions
        self._initial = targets
        self.cells: list[Cell] = []
        self.running = False

    def compose(self) -> ComposeResult:
        names = ", ".join(self._label(s) for s in self.sources)
        with Vertical():
            yield Static(f"Check from [b]{names}[/b]: type targets, enter runs", id="check-head")
            yield Input(
                self._initial,
                placeholder="svc/web pod/db:5432 web.shop 10.96.0.10:53 node/NAME",
                suggester=LastWordSuggester(self._suggestions),
                id="check-targets",
            )
            yield DataTable(id="check-matrix", cursor_type="cell", zebra_stripes=True)
            with VerticalScroll(id="check-explain"):
                yield Static("", id="check-explanation")
        yield KeyBar()

    @staticmethod
    def _label(source: PodRef | str) -> str:
        return f"node {source}" if isinstance(source, str) else f"{source.namespace}/{source.name}"

    def on_mount(self) -> None:
        self.query_one("#check-targets", Input).focus()
        if self._initial:
            self.run_check(self._initial)

    @on(Input.Submitted, "#check-targets")
    def _targets_submitted(self, event: Input.Submitted) -> None:
        if event.value.strip():
            self.run_check(event.value)
            self.query_one(DataTable).focus()

    def action_focus_targets(self) -> None:
        self.query_one("#check-targets", Input).focus()

    def action_rerun(self) -> None:
        self.run_check(self.query_one("#check-targets", Input).value)

    async def stop_checks(self) -> None:
        """End a running check and wait until its hosts are closed (node pods deleted)."""
        for worker in self.workers.cancel_group(self, "check"):
            with contextlib.suppress(WorkerCancelled, WorkerFailed):
                await worker.wait()

    async def action_close(self) -> None:
        """Escape: from the explanation back to the matrix; from the matrix, close (once
        the running check's node pods are deleted)."""
        if self.focused is self.query_one("#check-explain", VerticalScroll):
            self.query_one(DataTable).focus()
            return
        await self.stop_checks()
        self.dismiss(None)

    async def action_shell(self) -> None:
        from retina_tui.ui.browser import Browser

        table = self.query_one(DataTable)
        if not self.sources or not self.cells:
            return
        row = min(max(table.cursor_row, 0), len(self.sources) - 1)
        source = self.sources[row]
        await self.stop_checks()
        self.dismiss(None)
        if isinstance(source, str):
            self.app.post_message(Browser.SessionRequested("node", None, source, False))
        else:
            self.app.post_message(Browser.SessionRequested("pod", source, source.node, False))

    def run_check(self, text: str) -> None:
        from retina_tui.probes.targets import Source, TargetSyntaxError, parse_target

        pods = [s for s in self.sources if not isinstance(s, str)]
        namespace = pods[0].namespace if pods else "default"
        try:
            targets = [parse_target(part, namespace) for part in text.replace(",", " ").split()]
        except TargetSyntaxError as error:
            self.notify(str(error), severity="error", timeout=8)
            return
        if not targets:
            self.notify("Type at least one target, then enter.", severity="warning")
            return
        sources = [
            Source("node", s) if isinstance(s, str) else Source("pod", s.name, s.namespace)
            for s in self.sources
        ]
        self._run(sources, targets)

    @work(exclusive=True, group="check", exit_on_error=False)
    async def _run(self, sources: list[Source], targets: list[Target]) -> None:
        from retina_tui.probes.matrix import Prober, run_cells
        from retina_tui.probes.plan import CheckOptions, plan
        from retina_tui.probes.world import load_world
        from retina_tui.sessions.hosts import host_opener

        table = self.query_one(DataTable)
        table.clear(columns=True)
        table.add_column("from \\ to", key="source")
        for index, target in enumerate(targets):
            table.add_column(target.label, key=f"t{index}")
        self.running = True
        try:
            world = await load_world(self.client)
        except RetinaTuiError as error:
            self.running = False
            self.notify(str(error), severity="error", timeout=10)
            return
        self.cells = plan(world, sources, targets, CheckOptions())
        for row, source in enumerate(sources):
            cells = self.cells[row * len(targets) : (row + 1) * len(targets)]
            table.add_row(source.label, *(cell_markup(c) for c in cells), key=f"s{row}")
        self._explain()
        prober = Prober(host_opener(self.client, self.hosts))
        try:
            await run_cells(prober, self.cells, on_done=self._probe_done)
        finally:
            failures = await prober.close()
            self.running = False
        for failure in failures:
            self.notify(str(failure), severity="warning")
        self._explain()

    def _probe_done(self, cell: Cell, check: ProbeCheck) -> None:
        index = self.cells.index(cell)
        per_row = len(self.query_one(DataTable).columns) - 1
        row, column = divmod(index, per_row)
        self.query_one(DataTable).update_cell(f"s{row}", f"t{column}", cell_markup(cell))
        self._explain()

    @on(DataTable.CellSelected)
    def _selected(self, event: DataTable.CellSelected) -> None:
        """Enter: into the explanation, to scroll the raw output (escape goes back)."""
        self._explain()
        self.query_one("#check-explain", VerticalScroll).focus()

    @on(DataTable.CellHighlighted)
    def _highlighted(self, event: DataTable.CellHighlighted) -> None:
        self._explain()

    def _explain(self) -> None:
        cell = self.selected_cell()
        panel = self.query_one("#check-explanation", Static)
        panel.update(explain_cell(cell) if cell is not None else "")

    def selected_cell(self) -> Cell | None:
        """The cell under the cursor (for tests and the explanation)."""
        table = self.query_one(DataTable)
        per_row = len(table.columns) - 1
        if not self.cells or per_row <= 0:
            return None
        row = min(max(table.cursor_row, 0), len(self.cells) // per_row - 1)
        column = min(max(table.cursor_column - 1, 0), per_row - 1)
        return self.cells[row * per_row + column]


if TYPE_CHECKING:
    from retina_tui.probes.targets import Source, Target
