"""The controller's safety questions: would copies to these destinations make the files
safe? Asked of the service (its worker runs the preflight and the policy), never decided
here; the answer is routed to whoever asked.

Thread contract: GUI thread only. :meth:`SafetyQuestions.ask` returns at once; the
service's ``PreflightFinished`` (through the pump) calls the asker's ``answer(event)``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from PySide6.QtCore import QObject

from almc_assistant.core.destinations import Destination
from almc_assistant.core.service_events import PreflightFinished
from almc_assistant.qt.bridge import EventPump
from almc_assistant.qt.service_port import ServicePort

Answer = Callable[[PreflightFinished], None]


class SafetyQuestions(QObject):
    """Routes each preflight answer to the callback of the question it answers."""

    def __init__(
        self, service: ServicePort, pump: EventPump, parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self._service = service
        self._waiting: dict[int, Answer] = {}
        pump.subscribe(PreflightFinished, self._on_preflight_finished)

    def ask(
        self, files: Sequence[Path], destinations: Sequence[Destination], answer: Answer
    ) -> None:
        """Ask the service whether copies of ``files`` to ``destinations`` would make them
        safe: the policy's answer with the disk check (``PreflightFinished.safety``)."""
        request = self._service.preflight(list(files), list(destinations))
        self._waiting[request] = answer

    def _on_preflight_finished(self, event: PreflightFinished) -> None:
        answer = self._waiting.pop(event.request_id, None)
        if answer is not None:
            answer(event)


def not_safe_reason(event: PreflightFinished) -> str:
    """Why copies planned in ``event`` would not make the files safe ("" if they would):
    the service's :class:`PlanSafety` (the policy, per disk) and each destination's
    preflight (reachable, room)."""
    if event.error_title:  # it could not run
        return f"the destinations could not be checked ({event.error_title}: {event.error_detail})"
    blocked = [i.message for r in event.results for i in r.issues if i.severity == "error"]
    if blocked:
        return "; ".join(blocked)
    safety = event.safety
    if safety is None:
        return "the destinations could not be checked"
    if safety.safe:
        return ""
    return "; ".join((f"the facility's policy asks for {safety.requirement}", *safety.not_counted))
