"""The configuration in force, owned in one place: the service's settings part.

Thread contract: any thread. :class:`LiveSettings` holds the :class:`Config` in force and
what follows from it (the safety :class:`Policy`, the :class:`Retention`). A change
(:meth:`LiveSettings.save`, :meth:`LiveSettings.reload`) re-reads the configuration once,
under one lock, and hands ``(before, after)`` to each part that registered with
:meth:`LiveSettings.follow` (the catalog's safety flags, the watcher, the reminders), in
registration order, on the caller's thread; a part that has slow work to do (stopping a
watcher joins threads) hands it to the service's workers itself. Readers take
``settings.config`` (one immutable value) and never see half a change.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

from almc_assistant.core.config import Config, UserSettings, load_config, save_user_config
from almc_assistant.core.paths import AppPaths
from almc_assistant.core.policy import Policy, Retention

SettingsListener = Callable[[Config, Config], None]


def policy_of(config: Config) -> Policy:
    """The facility's safety policy over this configuration's destinations."""
    return Policy(
        config.policy,
        config.destinations + config.remote_destinations,  # issue 13: remotes
        acquisition_roots=config.acquisition_folders,
    )


class LiveSettings:
    """The configuration in force, its policy and retention, and who follows changes."""

    def __init__(self, paths: AppPaths, config: Config | None = None) -> None:
        self._paths = paths
        self._lock = threading.RLock()
        self.config = config if config is not None else load_config(paths)
        self.policy = policy_of(self.config)
        self.retention = Retention(self.config.retention)
        self._listeners: list[SettingsListener] = []

    def follow(self, listener: SettingsListener) -> None:
        """Call ``listener(before, after)`` after every change of the configuration."""
        self._listeners.append(listener)

    def save(self, settings: UserSettings) -> Path:
        """Write the user's TOML (a small file, atomically: blocking but brief), then
        apply it (:meth:`reload`). Raises :class:`ConfigError` naming the file."""
        with self._lock:
            written = save_user_config(self._paths, settings)
            self.reload()
        return written

    def reload(self) -> Config:
        """Re-read the configuration and tell every follower, once."""
        with self._lock:
            before = self.config
            after = load_config(self._paths)
            self.config = after
            self.policy = policy_of(after)
            self.retention = Retention(after.retention)
            for listener in self._listeners:
                listener(before, after)
            return after
