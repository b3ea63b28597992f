"""Start-up: the first start enables starting at login and says so once; the facility's
policy is applied at every start. Real XDG files; the real app in a subprocess."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from almc_assistant.core.autostart import Autostart, StartOutcome, XdgAutostart
from almc_assistant.qt.app import START_AT_LOGIN_TITLE, apply_start_at_login
from tests.integration.test_autostart_cli import isolated_env


def _autostart(tmp_path: Path, policy: str = "user") -> Autostart:
    program = tmp_path / "almc-assistant"
    program.write_text("#!/bin/sh\n", encoding="utf-8")
    backend = XdgAutostart(tmp_path / "xdg", [tmp_path / "etc-xdg"])
    return Autostart(backend, policy, state_dir=tmp_path / "state", command=(str(program),))


def test_first_start_enables_and_tells_once(tmp_path: Path) -> None:
    told: list[tuple[str, str]] = []
    auto = _autostart(tmp_path)
    assert apply_start_at_login(auto, lambda t, x: told.append((t, x))) is (
        StartOutcome.ENABLED_FIRST_START
    )
    assert auto.status().enabled
    assert [t for t, _ in told] == [START_AT_LOGIN_TITLE]
    assert "Settings" in told[0][1]
    assert apply_start_at_login(_autostart(tmp_path), lambda t, x: told.append((t, x))) is (
        StartOutcome.UNCHANGED
    )
    assert len(told) == 1


def test_facility_never_is_applied_silently(tmp_path: Path) -> None:
    _autostart(tmp_path).set_enabled(True)
    told: list[tuple[str, str]] = []
    auto = _autostart(tmp_path, "never")
    assert apply_start_at_login(auto, lambda t, x: told.append((t, x))) is StartOutcome.ENFORCED
    assert not auto.status().enabled
    assert told == []


def test_a_failure_is_logged_not_raised(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    (tmp_path / "xdg").mkdir()
    (tmp_path / "xdg" / "autostart").write_text("not a folder", encoding="utf-8")
    told: list[tuple[str, str]] = []
    assert apply_start_at_login(_autostart(tmp_path), lambda t, x: told.append((t, x))) is None
    assert told == []
    assert "almc-assistant.desktop" in caplog.text


@pytest.mark.slow
def test_the_real_app_from_a_source_checkout_does_not_start_at_login(tmp_path: Path) -> None:
    """Run from this checkout (``./dev app``), the app never registers itself: the entry
    would point into the clone's ``.venv``. Settings offers it instead."""
    env = {**isolated_env(tmp_path), "QT_QPA_PLATFORM": "offscreen"}
    entry = tmp_path / "xdg" / "autostart" / "almc-assistant.desktop"
    log = tmp_path / "home" / "log" / "almc-assistant.log"
    proc = subprocess.Popen(
        [sys.executable, "-m", "almc_assistant", "gui"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        while proc.poll() is None and time.monotonic() < deadline:
            if log.exists() and "start at login:" in log.read_text(encoding="utf-8"):
                break
            time.sleep(0.2)
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=30)
    assert "start at login: not-installed" in log.read_text(encoding="utf-8"), err
    assert not entry.exists()
