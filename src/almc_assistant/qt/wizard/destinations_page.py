"""Wizard page 3, "Destinations": where the copies go, preflight, and the policy's word.

Thread contract: GUI thread only. Choosing destinations asks the service for a preflight
(``service.preflight`` returns at once; its ``PreflightFinished`` event arrives
through :meth:`DestinationsPage.on_preflight_finished`). The event carries the policy's
answer too (``PlanSafety``: which destinations' copies would count, and whether that is
enough), computed by the service in the same worker: the page never judges safety itself,
and speaks of the copies as a plan (nothing has been copied yet).
"""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence
from pathlib import Path

from PySide6.QtWidgets import QLabel, QVBoxLayout, QWizard, QWizardPage

from almc_assistant.core.destinations import Destination
from almc_assistant.core.errors import AlmcError
from almc_assistant.core.plan_safety import PlanSafety
from almc_assistant.core.preflight import PreflightResult
from almc_assistant.core.service_events import PreflightFinished
from almc_assistant.core.units import human_size
from almc_assistant.qt.destination_picker import DestinationPicker, place
from almc_assistant.qt.prompts import Prompter
from almc_assistant.qt.service_port import ServicePort
from almc_assistant.qt.wizard.state import WizardState


def plan_html(safety: PlanSafety | None) -> str:
    """The policy's answer for the chosen destinations, in future tense."""
    if safety is None:
        return "Checking what these copies would count for under the facility's policy…"
    after = html.escape(safety.after_copying())
    after = after[0].upper() + after[1:]
    lines = []
    if safety.safe:
        lines.append(
            "✓ <b>These copies would make your data safe</b> under the facility's policy, "
            f"once each is read back and verified. {after}."
        )
    else:
        lines.append(
            "⚠ <b>Not enough under the facility's policy</b>, which asks for "
            f"{html.escape(safety.requirement)}. {after}."
        )
    lines.extend(f"Not counted: {html.escape(why)}." for why in safety.not_counted)
    if not safety.safe:
        lines.append("Add another destination, or plan another copy soon.")
    return "<br>".join(lines)


def preflight_html(results: Sequence[PreflightResult]) -> str:
    """One paragraph per destination: reachable, free space, file system, issues."""
    parts = []
    for r in results:
        name = r.destination.name
        if not r.reachable:
            parts.append(f"<p>✗ <b>{name}</b>: not reachable.</p>")
            continue
        free = "unknown free space" if r.free_bytes is None else human_size(r.free_bytes)
        head = "✓" if r.ok else "✗"
        if remote := r.destination.remote:
            line = (
                f"<p>{head} <b>{name}</b> ({html.escape(remote)}): "
                f"{human_size(r.needed_bytes)} to send; reached, tested and proven "
                "file by file when the copy starts."
            )
            parts.append(line + "</p>")
            continue
        line = (
            f"<p>{head} <b>{name}</b>: {free} free, {human_size(r.needed_bytes)} "
            f"needed ({r.filesystem or 'unknown file system'})."
        )
        for issue in r.issues:
            mark = "Cannot copy" if str(issue.severity) == "error" else "Note"
            line += f"<br>{mark}: {issue.message}"
        parts.append(line + "</p>")
    return "".join(parts)


class DestinationsPage(QWizardPage):
    def __init__(
        self,
        service: ServicePort,
        prompter: Prompter,
        state: WizardState,
        make_destination: Callable[[Path], Destination],
    ) -> None:
        super().__init__()
        self._service = service
        self._state = state
        self._request: int | None = None
        self.setTitle("Destinations")
        self.setSubTitle("Choose where your files are copied. Each copy is verified.")
        self.setCommitPage(True)
        self.setButtonText(QWizard.WizardButton.CommitButton, "&Back up now")
        self.picker = DestinationPicker(prompter, make_destination)
        self.picker.selection_changed.connect(self._on_picker_selection_changed)
        self.policy = QLabel()
        self.policy.setWordWrap(True)
        self.preflight = QLabel()
        self.preflight.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addWidget(self.picker, 1)
        layout.addWidget(self.policy)
        layout.addWidget(self.preflight)

    def initializePage(self) -> None:
        try:
            destinations = list(self._service.destinations())
        except AlmcError as err:
            destinations = []
            self.policy.setText(f"<b>{err.title}</b>: {err.detail}")
        self.picker.set_destinations(destinations, self._state.destinations)
        self._on_picker_selection_changed(self.picker.selected())

    def _on_picker_selection_changed(self, selected: list[Destination]) -> None:
        self._state.destinations = list(selected)
        self._state.preflight = {}
        self._state.safety = None
        if not selected:
            self.policy.setText("Choose at least one destination.")
            self.preflight.clear()
        else:
            self.policy.setText(plan_html(None))
            self.preflight.setText("Checking the destinations…")
            try:
                self._request = self._service.preflight(self._state.sources(), selected)
            except AlmcError as err:
                self.preflight.setText(f"<b>{err.title}</b>: {err.detail} {err.next_step}")
        self.completeChanged.emit()

    def on_preflight_finished(self, event: PreflightFinished) -> None:
        """``PreflightFinished(request_id, results)``: only the latest request counts.
        One that could not run (``error_title``: the engine refused, or is gone) says
        why, and the page stays incomplete (choosing again asks again)."""
        if event.request_id != self._request:
            return
        if event.error_title:
            self._state.safety = None
            self.policy.setText("What these copies would count for is not known.")
            self.preflight.setText(
                f"<b>{html.escape(event.error_title)}</b>: "
                f"{html.escape(event.error_detail)} {html.escape(event.error_next_step)}"
            )
            self.completeChanged.emit()
            return
        self._state.safety = event.safety
        if self._state.safety is not None:  # per-disk: no "makes your data safe" there
            self.picker.set_not_counted(self._state.safety.not_counted)
        self.policy.setText(
            plan_html(self._state.safety)
            if self._state.safety is not None
            else "What these copies would count for is not known."
        )
        self.on_preflight(event.results)

    def on_preflight(self, results: Sequence[PreflightResult]) -> None:
        """Preflight results (``PreflightResult`` per destination) from the service."""
        chosen = {place(d) for d in self._state.destinations}
        relevant = [r for r in results if place(r.destination) in chosen]
        for r in relevant:
            self._state.preflight[place(r.destination)] = r
        self.preflight.setText(preflight_html(list(self._state.preflight.values())))
        self.completeChanged.emit()

    def refused(self) -> list[PreflightResult]:
        return [r for r in self._state.preflight.values() if not r.ok]

    def isComplete(self) -> bool:
        chosen = self._state.destinations
        if not chosen:
            return False
        done = all(place(d) in self._state.preflight for d in chosen)
        return done and not self.refused()
