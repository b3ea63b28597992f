"""Policy: first start, the user's choice, the facility forcing or forbidding; and the
command registered for each kind of installation. Real XDG files below tmp_path."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from almc_assistant.core.autostart import (
    Autostart,
    AutostartPolicy,
    StartOutcome,
    XdgAutostart,
    for_config,
    launch_command,
)
from almc_assistant.core.config import load_config
from almc_assistant.core.errors import UsageError
from almc_assistant.core.paths import AppPaths
from tests.portable import WINDOWS


@pytest.fixture
def program(tmp_path: Path) -> tuple[str, ...]:
    exe = tmp_path / "bin" / "almc-assistant"
    exe.parent.mkdir()
    exe.write_text("#!/bin/sh\n", encoding="utf-8")
    return (str(exe),)


def make(tmp_path: Path, program: tuple[str, ...], policy: str = "user") -> Autostart:
    backend = XdgAutostart(tmp_path / "config", [tmp_path / "etc-xdg"])
    return Autostart(backend, policy, state_dir=tmp_path / "state", command=program)


def test_first_start_enables_once_then_respects_the_users_choice(
    tmp_path: Path, program: tuple[str, ...]
) -> None:
    auto = make(tmp_path, program)
    assert auto.apply_at_start() is StartOutcome.ENABLED_FIRST_START
    assert auto.status().enabled
    assert auto.status().command == program
    assert json.loads(auto.marker.read_text(encoding="utf-8"))["choice"]
    assert auto.apply_at_start() is StartOutcome.UNCHANGED  # said once only
    auto.set_enabled(False)
    assert auto.apply_at_start() is StartOutcome.UNCHANGED
    assert not auto.status().enabled  # the user's "off" survives later starts


def test_an_installer_choice_made_before_the_first_start_is_kept(
    tmp_path: Path, program: tuple[str, ...]
) -> None:
    make(tmp_path, program).set_enabled(False)  # "autostart off" from the installer
    auto = make(tmp_path, program)
    assert auto.apply_at_start() is StartOutcome.UNCHANGED
    assert not auto.status().enabled
    make(tmp_path, program).set_enabled(True)
    assert make(tmp_path, program).apply_at_start() is StartOutcome.UNCHANGED


def test_already_enabled_at_first_start_is_not_announced(
    tmp_path: Path, program: tuple[str, ...]
) -> None:
    auto = make(tmp_path, program)
    auto.backend.enable(program)
    assert auto.apply_at_start() is StartOutcome.UNCHANGED
    assert auto.marker.exists()


def test_facility_always_enables_and_refuses_off(tmp_path: Path, program: tuple[str, ...]) -> None:
    auto = make(tmp_path, program, "always")
    make(tmp_path, program).set_enabled(False)  # the user had turned it off before
    assert auto.apply_at_start() is StartOutcome.ENFORCED
    assert auto.status().enabled
    assert auto.status().decided_by_facility
    with pytest.raises(UsageError) as info:
        auto.set_enabled(False)
    assert "facility" in info.value.detail
    assert info.value.next_step
    assert auto.status().enabled  # unchanged
    assert auto.apply_at_start() is StartOutcome.UNCHANGED


def test_facility_never_removes_and_refuses_on(tmp_path: Path, program: tuple[str, ...]) -> None:
    make(tmp_path, program).set_enabled(True)
    auto = make(tmp_path, program, AutostartPolicy.NEVER)
    assert auto.apply_at_start() is StartOutcome.ENFORCED
    assert not auto.status().enabled
    with pytest.raises(UsageError):
        auto.set_enabled(True)
    assert not auto.status().enabled
    assert auto.apply_at_start() is StartOutcome.UNCHANGED
    auto.set_enabled(False)  # agreeing with the facility is fine


def test_an_entry_naming_a_removed_program_is_repaired(
    tmp_path: Path, program: tuple[str, ...]
) -> None:
    auto = make(tmp_path, program)
    auto.set_enabled(True)
    auto.backend.enable(("/old/place/almc-assistant",))  # the app was moved since
    assert auto.apply_at_start() is StartOutcome.REPAIRED
    assert auto.status().command == program


def test_status_as_dict_for_json(tmp_path: Path, program: tuple[str, ...]) -> None:
    auto = make(tmp_path, program, "always")
    data = auto.status().as_dict()
    assert data == {
        "enabled": False,
        "policy": "always",
        "decided_by": "facility",
        "location": str(tmp_path / "config" / "autostart" / "almc-assistant.desktop"),
        "command": None,
        "expected_command": list(program),
    }


def test_for_config_reads_the_facility_policy() -> None:
    paths = AppPaths.default().ensure()
    paths.facility_config.write_text('[facility]\nstart_at_login = "never"\n', encoding="utf-8")
    auto = for_config(load_config(paths), paths)
    assert auto.policy is AutostartPolicy.NEVER
    assert auto.marker.parent == paths.state_dir


# ------------------------------------------------------------------ the command


def test_frozen_build_registers_its_own_executable(tmp_path: Path) -> None:
    exe = tmp_path / "almc-assistant.exe"
    exe.write_bytes(b"MZ")
    assert launch_command(executable=str(exe), frozen=True, platform="win32") == (str(exe),)


def test_the_console_twin_registers_the_windowless_executable(tmp_path: Path) -> None:
    gui = tmp_path / "almc-assistant.exe"
    cli = tmp_path / "almc-assistant-cli.exe"
    gui.write_bytes(b"MZ")
    cli.write_bytes(b"MZ")
    assert launch_command(executable=str(cli), frozen=True, platform="win32") == (str(gui),)
    posix_gui, posix_cli = tmp_path / "almc-assistant", tmp_path / "almc-assistant-cli"
    posix_gui.write_bytes(b"")
    posix_cli.write_bytes(b"")
    assert launch_command(executable=str(posix_cli), frozen=True, platform="linux") == (
        str(posix_gui),
    )


def test_venv_install_registers_the_console_script(tmp_path: Path) -> None:
    python = tmp_path / "venv" / "bin" / "python"
    python.parent.mkdir(parents=True)
    python.write_bytes(b"")
    assert launch_command(executable=str(python), frozen=False, platform="linux") == (
        str(python),
        "-m",
        "almc_assistant",
    )
    (python.parent / "almc-assistant").write_bytes(b"")
    assert launch_command(executable=str(python), frozen=False, platform="linux") == (
        str(python.parent / "almc-assistant"),
    )


def test_windows_pip_install_uses_pythonw(tmp_path: Path) -> None:
    python = tmp_path / "python.exe"
    python.write_bytes(b"MZ")
    (tmp_path / "pythonw.exe").write_bytes(b"MZ")
    assert launch_command(executable=str(python), frozen=False, platform="win32") == (
        str(tmp_path / "pythonw.exe"),
        "-m",
        "almc_assistant",
    )


def test_this_process_gets_a_command_that_exists() -> None:
    command = launch_command()
    assert Path(command[0]).is_file()
    assert (
        command[0] == sys.executable
        or command[0].endswith("almc-assistant")
        or (
            WINDOWS and Path(command[0]).name == "pythonw.exe"  # no console window at login
        )
    )
