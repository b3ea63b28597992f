"""The Run-key backend against the real registry (Windows; the Windows lane runs it in
Wine's registry), read back by a second process (``reg.exe``)."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from almc_assistant.core.autostart import WindowsRunAutostart
from almc_assistant.core.autostart.windows import APPROVED_KEY, RUN_KEY, WinRegRunKey
from tests.portable import UNDER_WINE, WINDOWS

pytestmark = pytest.mark.skipif(not WINDOWS, reason="the Windows registry exists on Windows")

SRC = Path(__file__).resolve().parents[3] / "src"
COMMAND = ("C:\\Program Files\\almc-assistant\\almc-assistant.exe", "--tray", "a b")


def reg_query(key: str, name: str) -> str | None:
    """What ``reg query`` (another process) sees of ``HKCU\\key\\name``; None when absent."""
    out = subprocess.run(
        ["reg", "query", f"HKCU\\{key}", "/v", name], capture_output=True, text=True, timeout=60
    )
    if out.returncode != 0:
        return None
    line = next(x for x in out.stdout.splitlines() if x.strip().startswith(name))
    return line.split(None, 2)[2] if len(line.split(None, 2)) > 2 else ""


@pytest.fixture
def name() -> Iterator[str]:
    """A value name of this test's own, removed afterwards."""
    value = f"almc-test-{uuid.uuid4().hex[:8]}"
    yield value
    WinRegRunKey().delete(value)
    WinRegRunKey().clear_approval(value)


def test_enable_writes_the_run_value_another_process_reads(name: str) -> None:
    auto = WindowsRunAutostart(name=name)
    assert auto.registered_command() is None
    auto.enable(COMMAND)
    assert auto.registered_command() == COMMAND
    assert reg_query(RUN_KEY, name) == subprocess.list2cmdline(COMMAND)
    auto.disable()
    assert auto.registered_command() is None
    assert reg_query(RUN_KEY, name) is None


def test_switched_off_in_startup_apps_counts_as_off_and_enable_clears_the_mark(
    name: str,
) -> None:
    import winreg  # type: ignore[import-not-found,unused-ignore]

    auto = WindowsRunAutostart(name=name)
    auto.enable(COMMAND)
    reg: Any = winreg  # the stubs know winreg on Windows only; mypy checks as Linux
    with reg.CreateKeyEx(reg.HKEY_CURRENT_USER, APPROVED_KEY) as key:  # as Task Manager
        reg.SetValueEx(key, name, 0, reg.REG_BINARY, b"\x03" + bytes(11))
    assert auto.registered_command() is None
    auto.enable(COMMAND)
    assert auto.registered_command() == COMMAND
    assert reg_query(APPROVED_KEY, name) is None


@pytest.mark.skipif(not UNDER_WINE, reason="writes the real almc-assistant Run value")
def test_cli_autostart_on_and_off_change_the_run_value() -> None:
    def cli(*words: str) -> dict[str, object]:
        out = subprocess.run(
            [sys.executable, "-m", "almc_assistant", "autostart", *words, "--json"],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert out.returncode == 0, out.stderr
        return dict(json.loads(out.stdout))

    try:
        doc = cli("on")
        assert doc["enabled"] is True
        assert str(doc["location"]).endswith("CurrentVersion\\Run\\almc-assistant")
        command = [str(w) for w in doc["command"]]  # type: ignore[attr-defined]
        assert reg_query(RUN_KEY, "almc-assistant") == subprocess.list2cmdline(command)
        assert cli("off")["enabled"] is False
        assert reg_query(RUN_KEY, "almc-assistant") is None
    finally:
        WinRegRunKey().delete("almc-assistant")
