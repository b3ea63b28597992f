"""The service's reminders part: the session-end guard and the reminder settings in force.

Thread contract: any thread. The guard (:class:`~almc_assistant.core.session_end.
SessionEndGuard`) is created on first use with the reminder settings in force; the
front end hands it to the desktop's session-end adapters and feeds it activity cues.
Whenever the settings change (:class:`~almc_assistant.core.service_settings.
LiveSettings`), the new reminder settings reach the running guard at once, on the
thread that applied them; no front end relays them.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

from almc_assistant.core.config import Config, ReminderSettings
from almc_assistant.core.service_runtime import Runtime
from almc_assistant.core.session import PendingSummary

if TYPE_CHECKING:
    from almc_assistant.core.session_end import SessionEndGuard


class Reminders:
    """Owns the session-end guard; keeps its settings those in force."""

    def __init__(self, runtime: Runtime, pending_summary: Callable[[], PendingSummary]) -> None:
        self._rt = runtime
        self._pending_summary = pending_summary
        self._guard: SessionEndGuard | None = None
        runtime.settings.follow(self._on_settings_changed)

    @property
    def settings(self) -> ReminderSettings:
        """The reminder settings in force."""
        return self._rt.settings.config.user.reminders

    def guard(self, *, platform: str = sys.platform) -> SessionEndGuard:
        """The session-end guard (created on the first call, with ``platform``)."""
        from almc_assistant.core.session_end import SessionEndGuard

        with self._rt.lock:
            if self._guard is None:
                self._guard = SessionEndGuard.create(
                    self._pending_summary,
                    self._rt.paths,
                    self._rt.sink,
                    settings=self.settings,
                    platform=platform,
                )
            return self._guard

    def _on_settings_changed(self, before: Config, after: Config) -> None:
        guard = self._guard
        if guard is not None and before.user.reminders != after.user.reminders:
            guard.apply_settings(after.user.reminders)
