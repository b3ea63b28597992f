"""Reading one TOML table with validation: every problem names the file, key and reason.

Thread contract: plain functions on plain values, safe anywhere. Used by
:mod:`almc_assistant.core.config`; a wrong value is reported and replaced by the
default, so one typo never stops the app.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class ConfigProblem:
    """One thing wrong in a configuration file."""

    file: Path
    key: str  # dotted, e.g. "retention.max_age_days" or "destinations[2].kind"
    reason: str

    def __str__(self) -> str:
        where = f"{self.file}: {self.key}" if self.key else str(self.file)
        return f"{where}: {self.reason}"


_TYPE_WORDS: dict[type, str] = {
    bool: "true or false",
    int: "a whole number",
    float: "a number",
    str: "text in quotes",
    list: "a list",
    dict: "a table",
}


class TableReader:
    """Reads keys from one TOML table, collecting problems instead of raising."""

    def __init__(
        self, file: Path, data: Mapping[str, Any], prefix: str, problems: list[ConfigProblem]
    ) -> None:
        self.file = file
        self.data = data
        self.prefix = prefix
        self.problems = problems
        self._used: set[str] = set()

    def key(self, name: str) -> str:
        return f"{self.prefix}.{name}" if self.prefix else name

    def problem(self, name: str, reason: str) -> None:
        self.problems.append(ConfigProblem(self.file, self.key(name), reason))

    def has(self, name: str) -> bool:
        return name in self.data

    def get(
        self,
        name: str,
        kind: type[T],
        default: T,
        check: Callable[[T], str | None] | None = None,
    ) -> T:
        """The value of ``name`` if it has the right type and passes ``check``."""
        self._used.add(name)
        if name not in self.data:
            return default
        value = self.data[name]
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
            self.problem(
                name,
                f"should be {_TYPE_WORDS.get(kind, kind.__name__)}, not {_describe(value)}; "
                f"using the default ({_show(default)})",
            )
            return default
        if check is not None:
            reason = check(value)
            if reason:
                self.problem(name, f"{reason}; using the default ({_show(default)})")
                return default
        return value

    def strings(self, name: str, default: tuple[str, ...] = ()) -> tuple[str, ...]:
        values = self.get(name, list, list(default))
        if not all(isinstance(v, str) for v in values):
            self.problem(name, "every entry should be text in quotes; using the default")
            return default
        return tuple(values)

    def table(self, name: str) -> TableReader | None:
        """A sub-table (``None`` when absent or not a table, the latter reported)."""
        self._used.add(name)
        if name not in self.data:
            return None
        value = self.data[name]
        if not isinstance(value, dict):
            self.problem(name, f"should be a table ([{self.key(name)}]), not {_describe(value)}")
            return None
        return TableReader(self.file, value, self.key(name), self.problems)

    def tables(self, name: str) -> list[TableReader]:
        """An array of tables (``[[name]]``)."""
        self._used.add(name)
        value = self.data.get(name, [])
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            self.problem(name, f"should be a list of tables ([[{self.key(name)}]])")
            return []
        return [
            TableReader(self.file, v, f"{self.key(name)}[{i + 1}]", self.problems)
            for i, v in enumerate(value)
        ]

    def skip(self, name: str, reason: str) -> None:
        """A key that is known but not allowed here (reported if present)."""
        self._used.add(name)
        if name in self.data:
            self.problem(name, reason)

    def finish(self) -> None:
        """Report every key nobody asked for (typos, keys from another version)."""
        for name in self.data:
            if name not in self._used:
                self.problem(name, "unknown key (ignored); check the spelling")


def _describe(value: object) -> str:
    for kind, words in _TYPE_WORDS.items():
        if isinstance(value, kind):
            return f"{words} ({_show(value)})"
    return type(value).__name__


def _show(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def at_least(low: float) -> Callable[[Any], str | None]:
    return lambda v: None if v >= low else f"must be at least {low:g}, not {v}"


def between(low: float, high: float) -> Callable[[Any], str | None]:
    return lambda v: None if low <= v <= high else f"must be between {low:g} and {high:g}"


def one_of(*choices: str) -> Callable[[Any], str | None]:
    return lambda v: None if v in choices else f"must be one of {', '.join(choices)}"
