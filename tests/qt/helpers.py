"""Hand-written fakes for the GUI tests: a recording prompter and a small service.

The prompter stands in for the user (a real modal dialog cannot be answered offscreen).
:class:`FakeService` stands in only for core queries whose real implementation is not
reachable from these tests; it does no I/O and answers at once.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from almc_assistant.qt.prompts import Message, Question


@dataclass
class RecordingPrompter:
    """Records every prompt; answers questions from ``answers`` (by question key)."""

    answers: dict[str, str] = field(default_factory=dict)
    asked: list[Question] = field(default_factory=list)
    told: list[Message] = field(default_factory=list)
    crashes: list[tuple[str, str, str]] = field(default_factory=list)
    files_to_choose: list[str] = field(default_factory=list)
    folder_to_choose: str = ""
    save_file: str = ""

    def ask(self, question: Question) -> str:
        self.asked.append(question)
        if question.key not in self.answers:
            raise AssertionError(f"unexpected question {question.key!r}: {question.text}")
        answer = self.answers[question.key]
        assert answer in {c.key for c in question.choices}, answer
        return answer

    def tell(self, message: Message) -> None:
        self.told.append(message)

    def report_crash(self, summary: str, details: str, log_file: str) -> None:
        self.crashes.append((summary, details, log_file))

    def choose_files(self, title: str, start: str = "") -> list[str]:
        return list(self.files_to_choose)

    def choose_folder(self, title: str, start: str = "") -> str:
        return self.folder_to_choose

    def choose_save_file(self, title: str, suggested: str, filters: str) -> str:
        return self.save_file


@dataclass(frozen=True)
class Summary:
    files: int
    bytes: int
    oldest: Any


@dataclass
class FakeService:
    """Answers the quick queries from fields; records the actions it was asked for."""

    pending: Summary = field(default_factory=lambda: Summary(0, 0, None))
    calls: list[tuple[str, tuple[Any, ...]]] = field(default_factory=list)

    def pending_summary(self) -> Summary:
        return self.pending

    def start_watching(self) -> None:
        self.calls.append(("start_watching", ()))

    def stop(self) -> None:
        self.calls.append(("stop", ()))


def today_summary(files: int, size: int) -> Summary:
    return Summary(files, size, dt.datetime.now())
