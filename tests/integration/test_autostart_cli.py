"""`almc-assistant autostart` through a real subprocess, on a temporary XDG_CONFIG_HOME."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src"
pytestmark = pytest.mark.skipif(
    sys.platform == "win32",
    reason="these check the XDG entry; the Run value: tests/core/autostart/test_windows_registry",
)


def isolated_env(tmp_path: Path) -> dict[str, str]:
    """The environment of an almc-assistant run whose folders, facility file and
    start-at-login entries all live below ``tmp_path``."""
    return {
        **os.environ,
        "ALMC_HOME": str(tmp_path / "home"),
        "ALMC_FACILITY_CONFIG": str(tmp_path / "facility.toml"),
        "XDG_CONFIG_HOME": str(tmp_path / "xdg"),
        "XDG_CONFIG_DIRS": str(tmp_path / "etc-xdg"),
        "PYTHONPATH": str(SRC),
    }


def cli(tmp_path: Path, *words: str, facility: str = "") -> subprocess.CompletedProcess[str]:
    (tmp_path / "facility.toml").write_text(facility, encoding="utf-8")
    return subprocess.run(
        [sys.executable, "-m", "almc_assistant", *words],
        capture_output=True,
        text=True,
        env=isolated_env(tmp_path),
        timeout=60,
        check=False,
    )


def entry(tmp_path: Path) -> Path:
    return tmp_path / "xdg" / "autostart" / "almc-assistant.desktop"


def test_on_status_off_round_trip(tmp_path: Path) -> None:
    result = cli(tmp_path, "autostart", "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["enabled"] is False

    result = cli(tmp_path, "autostart", "on", "--json")
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["ok"] is True and doc["enabled"] is True
    assert doc["location"] == str(entry(tmp_path))
    assert doc["command"][0] == sys.executable or doc["command"][0].endswith("almc-assistant")
    assert "X-GNOME-Autostart-enabled=true" in entry(tmp_path).read_text(encoding="utf-8")

    result = cli(tmp_path, "autostart", "status")
    assert result.returncode == 0
    assert "almc-assistant starts when you log in." in result.stdout

    result = cli(tmp_path, "autostart", "off")
    assert result.returncode == 0
    assert "does not start when you log in" in result.stdout
    assert not entry(tmp_path).exists()


def test_facility_forbidding_makes_on_a_usage_error(tmp_path: Path) -> None:
    facility = '[facility]\nstart_at_login = "never"\n'
    result = cli(tmp_path, "autostart", "on", "--json", facility=facility)
    assert result.returncode == 2
    doc = json.loads(result.stdout)
    assert doc["ok"] is False
    assert doc["title"] == "Set by your facility"
    assert not entry(tmp_path).exists()
    status = cli(tmp_path, "autostart", facility=facility)
    assert status.returncode == 0
    assert "(set by your facility)" in status.stdout


def test_facility_forcing_makes_off_a_usage_error(tmp_path: Path) -> None:
    facility = '[facility]\nstart_at_login = "always"\n'
    assert cli(tmp_path, "autostart", "on", facility=facility).returncode == 0
    result = cli(tmp_path, "autostart", "off", facility=facility)
    assert result.returncode == 2
    assert "error: Set by your facility" in result.stderr
    assert "What to do:" in result.stderr
    assert entry(tmp_path).exists()


def test_unwritable_entry_is_exit_1_with_the_path(tmp_path: Path) -> None:
    (tmp_path / "xdg").mkdir()
    (tmp_path / "xdg" / "autostart").write_text("a file where the folder should be")
    result = cli(tmp_path, "autostart", "on")
    assert result.returncode == 1
    assert str(entry(tmp_path)) in result.stderr
    assert "Traceback" not in result.stderr


def test_bad_action_is_a_usage_error(tmp_path: Path) -> None:
    result = cli(tmp_path, "autostart", "maybe")
    assert result.returncode == 2
    assert "invalid choice" in result.stderr


@pytest.mark.parametrize("words", [("autostart", "--help"), ("--help",)])
def test_help_mentions_autostart(tmp_path: Path, words: tuple[str, ...]) -> None:
    result = cli(tmp_path, *words)
    assert result.returncode == 0
    assert "autostart" in result.stdout
