"""The Windows Run-key backend against a fake registry (the real one is Windows only)."""

from __future__ import annotations

import subprocess

import pytest

from almc_assistant.core.autostart import WindowsRunAutostart
from almc_assistant.core.autostart.windows import WinRegRunKey, split_command_line
from almc_assistant.core.errors import AlmcError
from tests.portable import WINDOWS


class FakeRunKey:
    """A dictionary standing in for HKCU\\...\\Run; can be made to refuse writes."""

    def __init__(self) -> None:
        self.values: dict[str, str] = {}
        self.approved: dict[str, bytes] = {}  # ...\Explorer\StartupApproved\Run
        self.refuse = False

    def read(self, name: str) -> str | None:
        return self.values.get(name)

    def write(self, name: str, value: str) -> None:
        if self.refuse:
            raise PermissionError(13, "Access is denied")
        self.values[name] = value

    def delete(self, name: str) -> None:
        if self.refuse:
            raise PermissionError(13, "Access is denied")
        self.values.pop(name, None)

    def approval(self, name: str) -> bytes | None:
        return self.approved.get(name)

    def clear_approval(self, name: str) -> None:
        if self.refuse:
            raise PermissionError(13, "Access is denied")
        self.approved.pop(name, None)


EXE = r"C:\Users\Ann Lee\AppData\Local\Programs\almc-assistant\almc-assistant.exe"


def test_enable_writes_a_quoted_run_value_and_disable_deletes_it() -> None:
    key = FakeRunKey()
    backend = WindowsRunAutostart(key)
    assert backend.registered_command() is None
    backend.enable([EXE])
    assert key.values == {"almc-assistant": f'"{EXE}"'}
    assert backend.registered_command() == (EXE,)
    backend.disable()
    assert key.values == {}
    backend.disable()  # already gone: no error
    assert "CurrentVersion\\Run\\almc-assistant" in backend.location


# What Task Manager writes: 0x02 (enabled) or 0x03 (disabled), then a FILETIME.
DISABLED_IN_TASK_MANAGER = bytes.fromhex("03000000d40d438dc83bd901")
ENABLED_IN_TASK_MANAGER = bytes.fromhex("020000000000000000000000")


def test_switched_off_in_task_manager_counts_as_off_and_enable_clears_it() -> None:
    key = FakeRunKey()
    backend = WindowsRunAutostart(key)
    backend.enable([EXE])
    key.approved["almc-assistant"] = DISABLED_IN_TASK_MANAGER
    assert backend.registered_command() is None
    assert key.values  # Windows keeps the Run value itself
    backend.enable([EXE])  # the user ticks "Start when I log in" again
    assert "almc-assistant" not in key.approved
    assert backend.registered_command() == (EXE,)
    key.approved["almc-assistant"] = ENABLED_IN_TASK_MANAGER
    assert backend.registered_command() == (EXE,)
    backend.disable()
    assert key.values == {} and key.approved == {}


def test_other_programs_values_are_left_alone() -> None:
    key = FakeRunKey()
    key.values["OneDrive"] = '"C:\\Program Files\\OneDrive\\OneDrive.exe" /background'
    key.approved["OneDrive"] = DISABLED_IN_TASK_MANAGER
    backend = WindowsRunAutostart(key)
    backend.enable([EXE])
    backend.disable()
    assert list(key.values) == ["OneDrive"]
    assert list(key.approved) == ["OneDrive"]


@pytest.mark.parametrize(
    "argv",
    [
        [EXE],
        [r"C:\Python 311\pythonw.exe", "-m", "almc_assistant"],
        [r"C:\a\b c\\", 'say "hi"', ""],
        [r"C:\x\y.exe", r"trailing\\"],
    ],
)
def test_command_line_round_trips_like_commandlinetoargvw(argv: list[str]) -> None:
    assert split_command_line(subprocess.list2cmdline(argv)) == tuple(argv)


def test_an_empty_value_is_not_enabled() -> None:
    key = FakeRunKey()
    key.values["almc-assistant"] = "  "
    assert WindowsRunAutostart(key).registered_command() is None


def test_a_refused_registry_write_is_a_clear_error() -> None:
    key = FakeRunKey()
    key.refuse = True
    with pytest.raises(AlmcError) as info:
        WindowsRunAutostart(key).enable([EXE])
    err = info.value
    assert "HKEY_CURRENT_USER\\Software\\Microsoft\\Windows\\CurrentVersion\\Run" in err.detail
    assert "Access is denied" in err.detail
    assert "start almc-assistant yourself" in err.next_step


@pytest.mark.skipif(WINDOWS, reason="Windows has the registry: test_windows_registry.py uses it")
def test_the_real_registry_off_windows_is_a_clear_error_not_a_crash() -> None:
    with pytest.raises(AlmcError) as info:
        WindowsRunAutostart(WinRegRunKey()).registered_command()
    assert "only on Windows" in info.value.detail
