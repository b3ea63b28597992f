"""The XDG autostart entry: real files under a temporary XDG_CONFIG_HOME."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from almc_assistant.core.autostart import XdgAutostart, backend_for
from almc_assistant.core.autostart.xdg import desktop_entry, exec_value, parse_exec
from almc_assistant.core.errors import AlmcError
from tests.portable import IS_ROOT, WINDOWS

COMMAND = ("/opt/almc venv/bin/almc-assistant",)


@pytest.fixture
def xdg(tmp_path: Path) -> XdgAutostart:
    return XdgAutostart(tmp_path / "config", [tmp_path / "etc-xdg"])


def test_enable_writes_a_spec_desktop_entry_and_disable_removes_it(xdg: XdgAutostart) -> None:
    assert xdg.registered_command() is None
    xdg.enable(COMMAND)
    text = xdg.path.read_text(encoding="utf-8")
    assert xdg.path.parent.name == "autostart"
    assert 'Exec="/opt/almc venv/bin/almc-assistant"' in text.splitlines()
    assert "X-GNOME-Autostart-enabled=true" in text.splitlines()
    assert "Hidden=false" in text.splitlines()
    assert xdg.registered_command() == COMMAND
    assert not list(xdg.path.parent.glob(".*.tmp"))  # the atomic write left nothing behind
    xdg.disable()
    assert not xdg.path.exists()
    assert xdg.registered_command() is None
    xdg.disable()  # already off: nothing to do, no error


def test_default_location_follows_xdg_config_home(tmp_path: Path) -> None:
    backend = backend_for("linux", {"XDG_CONFIG_HOME": str(tmp_path / "cfg")})
    assert backend.location == str(tmp_path / "cfg" / "autostart" / "almc-assistant.desktop")


def test_the_conftest_keeps_tests_out_of_the_real_autostart_folder() -> None:
    location = backend_for("linux").location
    assert location.startswith(os.environ["ALMC_HOME"])


@pytest.mark.skipif(shutil.which("desktop-file-validate") is None, reason="no desktop-file-utils")
@pytest.mark.parametrize("hidden", [False, True])
def test_desktop_file_validate_accepts_the_entry(tmp_path: Path, hidden: bool) -> None:
    path = tmp_path / "almc-assistant.desktop"
    path.write_text(desktop_entry(COMMAND, hidden=hidden), encoding="utf-8")
    result = subprocess.run(
        ["desktop-file-validate", str(path)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "error" not in (result.stdout + result.stderr).lower()


@pytest.mark.parametrize(
    "command",
    [
        ("/usr/bin/almc-assistant",),
        ("/home/ann/My Apps/py thon", "-m", "almc_assistant"),
        ('/weird/"quoted"$HOME`x`\\back', "100%"),
        ("/tmp/a;b", "", "~x"),
    ],
)
def test_exec_quoting_round_trips(command: tuple[str, ...]) -> None:
    assert parse_exec(exec_value(command)) == command


def test_exec_value_follows_the_spec_for_reserved_characters() -> None:
    # A quoted argument escapes " ` $ \ with a backslash; the string escapes \ again.
    assert exec_value(["/a b/$x"]) == '"/a b/\\\\$x"'
    assert exec_value(["50%"]) == "50%%"
    assert parse_exec("almc-assistant gui %F") == ("almc-assistant", "gui")


def test_gnome_tweaks_switching_it_off_counts_as_off(xdg: XdgAutostart) -> None:
    xdg.enable(COMMAND)
    text = xdg.path.read_text(encoding="utf-8")
    xdg.path.write_text(
        text.replace("X-GNOME-Autostart-enabled=true", "X-GNOME-Autostart-enabled=false"),
        encoding="utf-8",
    )
    assert xdg.registered_command() is None
    xdg.enable(COMMAND)
    assert xdg.registered_command() == COMMAND


def test_a_system_wide_entry_is_masked_with_hidden_not_deleted(
    xdg: XdgAutostart, tmp_path: Path
) -> None:
    system = tmp_path / "etc-xdg" / "autostart" / "almc-assistant.desktop"
    system.parent.mkdir(parents=True)
    system.write_text(desktop_entry(("/usr/bin/almc-assistant",)), encoding="utf-8")
    assert xdg.registered_command() == ("/usr/bin/almc-assistant",)  # the facility's
    xdg.disable()
    assert system.exists()  # never touched
    assert "Hidden=true" in xdg.path.read_text(encoding="utf-8").splitlines()
    assert xdg.registered_command() is None
    xdg.enable(COMMAND)
    assert xdg.registered_command() == COMMAND


def test_a_garbled_entry_is_not_enabled_and_is_replaced(xdg: XdgAutostart) -> None:
    xdg.path.parent.mkdir(parents=True)
    xdg.path.write_text("this is not a desktop entry [", encoding="utf-8")
    assert xdg.registered_command() is None
    xdg.enable(COMMAND)
    assert xdg.registered_command() == COMMAND


@pytest.mark.skipif(IS_ROOT or WINDOWS, reason="root may write anywhere; Windows has no such modes")
def test_unwritable_autostart_folder_is_a_clear_error_naming_the_path(xdg: XdgAutostart) -> None:
    xdg.path.parent.mkdir(parents=True)
    xdg.path.parent.chmod(0o500)
    try:
        with pytest.raises(AlmcError) as info:
            xdg.enable(COMMAND)
    finally:
        xdg.path.parent.chmod(0o700)
    err = info.value
    assert str(xdg.path) in err.detail
    assert "permission" in err.detail
    assert "start almc-assistant yourself" in err.next_step
    assert err.paths == (str(xdg.path),)


def test_autostart_path_blocked_by_a_file_is_a_clear_error(xdg: XdgAutostart) -> None:
    # Works as root too: "autostart" is a file, so no folder can be made there.
    xdg.path.parent.parent.mkdir(parents=True)
    xdg.path.parent.write_text("not a folder", encoding="utf-8")
    with pytest.raises(AlmcError) as info:
        xdg.enable(COMMAND)
    assert str(xdg.path) in info.value.detail
    assert info.value.next_step
