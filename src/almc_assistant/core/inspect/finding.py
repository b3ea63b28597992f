"""What a format checker found, before the file's path and dataset are attached.

Thread contract: plain frozen values; safe anywhere.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from almc_assistant.core.inspect.model import Flag
from almc_assistant.core.verdicts import Verdict


@dataclass(frozen=True, slots=True)
class Finding:
    verdict: Verdict
    format: str
    reasons: tuple[str, ...]
    flags: frozenset[Flag] = frozenset()
    details: Mapping[str, Any] = field(default_factory=dict)
