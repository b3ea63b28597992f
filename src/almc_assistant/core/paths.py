"""Where almc-assistant keeps its configuration, state, logs and caches.

Thread contract: plain values, safe anywhere. Paths come from platformdirs and are passed
in explicitly (no import-time globals). ``ALMC_HOME`` overrides every folder at once so
tests and development runs use a temporary folder; the facility configuration can be
pointed at with ``ALMC_FACILITY_CONFIG``.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

APP_NAME = "almc-assistant"
APP_AUTHOR = "ALMC"


@dataclass(frozen=True, slots=True)
class AppPaths:
    """The folders the app uses. Create them with :meth:`ensure`."""

    config_dir: Path  # the user's TOML
    state_dir: Path  # catalog database, markers, pending jobs
    log_dir: Path  # rotating debug log and the audit log
    cache_dir: Path
    facility_config: Path  # admin TOML (machine-wide, read-only for users)

    @property
    def user_config(self) -> Path:
        return self.config_dir / "config.toml"

    @property
    def catalog_db(self) -> Path:
        return self.state_dir / "catalog.sqlite3"

    @property
    def audit_log(self) -> Path:
        return self.log_dir / "audit.log"

    def ensure(self) -> AppPaths:
        """Create the folders, private to this user (0700, checked to be theirs and not
        links, tightened through their descriptor): settings, state, logs and cache all
        name the user's files and destinations."""
        from almc_assistant.core.privatefs import ensure_private_dir

        for d in (self.config_dir, self.state_dir, self.log_dir, self.cache_dir):
            ensure_private_dir(d)
        return self

    @classmethod
    def under(cls, root: Path) -> AppPaths:
        """Every folder below one root (tests, ``ALMC_HOME``)."""
        return cls(
            config_dir=root / "config",
            state_dir=root / "state",
            log_dir=root / "log",
            cache_dir=root / "cache",
            facility_config=root / "facility.toml",
        )

    @classmethod
    def default(cls, environ: dict[str, str] | None = None) -> AppPaths:
        """The platform's folders, or ``$ALMC_HOME`` when set."""
        env = os.environ if environ is None else environ
        facility_override = env.get("ALMC_FACILITY_CONFIG")
        home = env.get("ALMC_HOME")
        if home:
            paths = cls.under(Path(home))
        else:
            import platformdirs

            paths = cls(
                config_dir=Path(platformdirs.user_config_dir(APP_NAME, APP_AUTHOR)),
                state_dir=Path(platformdirs.user_state_dir(APP_NAME, APP_AUTHOR)),
                log_dir=Path(platformdirs.user_log_dir(APP_NAME, APP_AUTHOR)),
                cache_dir=Path(platformdirs.user_cache_dir(APP_NAME, APP_AUTHOR)),
                facility_config=default_facility_config(),
            )
        if facility_override:
            paths = cls(
                paths.config_dir,
                paths.state_dir,
                paths.log_dir,
                paths.cache_dir,
                Path(facility_override),
            )
        return paths


def default_facility_config() -> Path:
    if sys.platform == "win32":
        base = os.environ.get("PROGRAMDATA", r"C:\ProgramData")
        return Path(base) / APP_NAME / "facility.toml"
    import platformdirs

    return Path(platformdirs.site_config_dir(APP_NAME, APP_AUTHOR)) / "facility.toml"
