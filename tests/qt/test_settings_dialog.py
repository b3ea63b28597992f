"""Settings: destinations added, changed, removed and tested; reminders; facility read-only."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtWidgets import QDialogButtonBox
from pytestqt.qtbot import QtBot

from almc_assistant.core.autostart import Autostart, XdgAutostart
from almc_assistant.core.config import Config, UserSettings, WatchSettings
from almc_assistant.core.destinations import Destination, DestinationKind
from almc_assistant.core.errors import AlmcError
from almc_assistant.core.preflight import plan_files, preflight
from almc_assistant.core.service_events import PreflightFinished
from almc_assistant.qt.settings_dialog import SettingsDialog
from tests.portable import WINDOWS
from tests.qt.helpers import FakeService

SAVE = QDialogButtonBox.StandardButton.Save


class SettingsService(FakeService):
    """The port's fake with destinations, saving (or failing to) and preflights."""

    def __init__(
        self, dests: list[Destination], *, fail_save: bool = False, config: Config | None = None
    ) -> None:
        super().__init__(config=config or Config())
        self.dests = dests
        self.saved: list[UserSettings] = []
        self.preflights: list[Any] = []
        self.fail_save = fail_save

    def destinations(self) -> list[Destination]:
        return list(self.dests)

    def save_user_config(self, settings: UserSettings) -> Path:
        if self.fail_save:
            raise AlmcError("config.toml is read-only.", title="Cannot save settings")
        self.saved.append(settings)
        return Path("config.toml")

    def preflight(self, files: Sequence[Path], destinations: Sequence[Destination]) -> int:
        self.preflights.append(list(destinations))
        return len(self.preflights)


@pytest.fixture
def facility_share(tmp_path: Path) -> Destination:
    share = tmp_path / "share"
    share.mkdir()
    return Destination(
        name="Lab share", path=share, kind=DestinationKind.INSTITUTIONAL, origin="facility"
    )


def _dialog(qtbot: QtBot, prompter, service, **config):
    dialog = SettingsDialog(service, prompter, Config(facility_name="ALMC", **config))
    qtbot.addWidget(dialog)
    dialog.show()
    return dialog


def test_add_update_remove_and_save(qtbot: QtBot, prompter, facility_share, tmp_path: Path) -> None:
    service = SettingsService([facility_share])
    dialog = _dialog(qtbot, prompter, service)
    tab = dialog.destinations
    prompter.folder_to_choose = str(tmp_path / "OneDrive - University" / "microscopy")
    tab._on_browse_clicked()
    assert tab.chosen_kind() is DestinationKind.CLOUD_SYNC  # guessed from the path
    assert "pending upload" in tab.guidance.text()
    tab.add_button.click()
    assert [d.name for d in tab.user_destinations()] == ["microscopy"]
    # select it, change its kind, update
    tab.view.selectRow(1)
    tab.kind.setCurrentIndex(tab.kind.findData(DestinationKind.EXTERNAL_DRIVE))
    tab.add_button.click()
    assert tab.user_destinations()[0].kind is DestinationKind.EXTERNAL_DRIVE
    # facility presets cannot be removed
    tab.view.selectRow(0)
    assert not tab.remove_button.isEnabled()
    dialog.idle.setValue(45)
    dialog.buttons.accepted.emit()
    saved = service.saved[-1]
    assert [d.kind for d in saved.destinations] == [DestinationKind.EXTERNAL_DRIVE]
    assert saved.reminders.idle_minutes == 45
    assert saved.folders == ()  # the facility does not allow user folders


def test_relative_folder_is_refused(qtbot: QtBot, prompter, facility_share) -> None:
    dialog = _dialog(qtbot, prompter, SettingsService([facility_share]))
    dialog.destinations.folder.setText("backup")
    dialog.destinations.add_button.click()
    assert "full path" in dialog.destinations.result.text()
    assert dialog.destinations.user_destinations() == ()


def test_test_button_runs_a_real_preflight(qtbot: QtBot, prompter, facility_share) -> None:
    service = SettingsService([facility_share])
    dialog = _dialog(qtbot, prompter, service)
    tab = dialog.destinations
    tab.view.selectRow(0)
    tab.test_button.click()
    assert service.preflights == [[facility_share]]
    answer = PreflightFinished(request_id=1, results=(preflight(facility_share, plan_files([])),))
    tab.on_preflight_finished(answer)  # the service's answer, from a worker, via the pump
    assert "Lab share" in tab.result.text() and "free" in tab.result.text()


def _applied(dialog: SettingsDialog) -> None:
    """Save pressed, then the service's ``SettingsApplied`` (as the window's owner relays it
    from the pump: ``controller_windows``)."""
    dialog.buttons.accepted.emit()
    assert dialog.isVisible() and not dialog.buttons.button(SAVE).isEnabled()
    dialog.on_settings_applied()


def test_save_failure_is_told(qtbot: QtBot, prompter, facility_share) -> None:
    dialog = _dialog(qtbot, prompter, SettingsService([facility_share], fail_save=True))
    dialog.save()
    assert prompter.told[0].title == "Cannot save settings"
    assert dialog.isVisible() and dialog.buttons.button(SAVE).isEnabled()


def test_saved_settings_close_the_window_only_once_in_force(
    qtbot: QtBot, prompter, facility_share
) -> None:
    """The engine in its own process answers a save by event: until ``SettingsApplied``
    the window stays, Save disabled; ``SettingsNotSaved`` leaves it open with the edits."""
    service = SettingsService([facility_share])
    dialog = _dialog(qtbot, prompter, service)
    dialog.idle.setValue(45)
    dialog.buttons.accepted.emit()
    assert service.saved[-1].reminders.idle_minutes == 45
    assert dialog.isVisible() and not dialog.buttons.button(SAVE).isEnabled()
    dialog.on_settings_not_saved()  # the file could not be written (told by the owner)
    assert dialog.isVisible() and dialog.buttons.button(SAVE).isEnabled()
    assert dialog.idle.value() == 45  # the edits are still there to save again
    dialog.on_settings_applied()  # another window's settings, applied: shown, no close
    assert dialog.isVisible() and dialog.idle.value() == Config().user.reminders.idle_minutes
    dialog.idle.setValue(50)
    _applied(dialog)
    assert not dialog.isVisible() and service.saved[-1].reminders.idle_minutes == 50


def test_folders_editable_only_when_allowed(
    qtbot: QtBot, prompter, facility_share, tmp_path: Path
) -> None:
    locked = _dialog(
        qtbot,
        prompter,
        SettingsService([facility_share]),
        watch=WatchSettings(folders=(tmp_path / "D",)),
    )
    assert not locked.add_folder_button.isEnabled()
    assert locked.folders.item(0).text() == f"{tmp_path / 'D'}  (set by the facility)"
    service = SettingsService([facility_share])
    allowed = _dialog(qtbot, prompter, service, allow_user_folders=True)
    prompter.folder_to_choose = str(tmp_path / "mine")
    allowed.add_folder_button.click()
    allowed.save()
    assert service.saved[-1].folders == (tmp_path / "mine",)


# ------------------------------------------------------------------ start at login


def _autostart(tmp_path: Path, policy: str = "user") -> Autostart:
    program = tmp_path / "bin" / "almc-assistant"
    program.parent.mkdir(exist_ok=True)
    program.write_text("#!/bin/sh\n", encoding="utf-8")
    backend = XdgAutostart(tmp_path / "xdg", [tmp_path / "etc-xdg"])
    return Autostart(backend, policy, state_dir=tmp_path / "state", command=(str(program),))


def _entry(tmp_path: Path) -> Path:
    return tmp_path / "xdg" / "autostart" / "almc-assistant.desktop"


@pytest.mark.skipif(WINDOWS, reason="an XDG entry (Linux); Windows: test_windows_registry")
def test_start_at_login_checkbox_turns_the_entry_on_and_off(
    qtbot: QtBot, prompter, tmp_path: Path
) -> None:
    auto = _autostart(tmp_path)
    service = SettingsService([])
    dialog = SettingsDialog(service, prompter, Config(), autostart=auto)
    qtbot.addWidget(dialog)
    dialog.show()
    box = dialog.start_at_login
    assert box.isEnabled() and not box.isChecked()
    assert "cannot remind you at logout" in dialog.start_at_login_note.text()
    box.setChecked(True)
    _applied(dialog)
    assert not dialog.isVisible()
    assert f"Exec={tmp_path}/bin/almc-assistant" in _entry(tmp_path).read_text(encoding="utf-8")
    assert auto.status().enabled

    dialog.show()
    dialog.reload()
    assert box.isChecked()
    box.setChecked(False)
    dialog.buttons.accepted.emit()
    assert _entry(tmp_path).exists()  # not before the settings are in force
    dialog.on_settings_applied()
    assert not _entry(tmp_path).exists()
    assert len(service.saved) == 2  # the rest of the settings were saved each time


def test_saving_other_settings_leaves_the_entry_alone(
    qtbot: QtBot, prompter, tmp_path: Path
) -> None:
    auto = _autostart(tmp_path)
    dialog = SettingsDialog(SettingsService([]), prompter, Config(), autostart=auto)
    qtbot.addWidget(dialog)
    dialog.show()
    auto.backend.enable(("/somewhere/else/almc-assistant",))  # e.g. the CLI, meanwhile
    dialog.idle.setValue(50)
    _applied(dialog)
    assert auto.status().command == ("/somewhere/else/almc-assistant",)


@pytest.mark.parametrize(("policy", "checked"), [("always", True), ("never", False)])
def test_facility_decides_the_box_is_read_only(
    qtbot: QtBot, prompter, tmp_path: Path, policy, checked
) -> None:
    auto = _autostart(tmp_path, policy)
    auto.apply_at_start()
    dialog = SettingsDialog(SettingsService([]), prompter, Config(), autostart=auto)
    qtbot.addWidget(dialog)
    dialog.show()
    assert dialog.start_at_login.isChecked() is checked
    assert not dialog.start_at_login.isEnabled()
    assert dialog.start_at_login_note.text().startswith("Set by your facility")
    assert _entry(tmp_path).exists() is checked
    _applied(dialog)  # saving changes nothing the facility decided
    assert _entry(tmp_path).exists() is checked


def test_facility_always_shows_checked_even_before_the_app_applied_it(
    qtbot: QtBot, prompter, tmp_path: Path
) -> None:
    auto = _autostart(tmp_path, "always")  # the entry does not exist yet
    config = Config(start_at_login="always")
    dialog = SettingsDialog(SettingsService([]), prompter, config, autostart=auto)
    qtbot.addWidget(dialog)
    assert dialog.start_at_login.isChecked()
    assert "starts at every login" in dialog.start_at_login_note.text()
    assert not _entry(tmp_path).exists()  # showing it writes nothing


@pytest.mark.skipif(WINDOWS, reason="an XDG folder (Linux); Windows: test_windows_registry")
def test_a_failed_change_is_told_and_the_window_stays(
    qtbot: QtBot, prompter, tmp_path: Path
) -> None:
    auto = _autostart(tmp_path)
    dialog = SettingsDialog(SettingsService([]), prompter, Config(), autostart=auto)
    qtbot.addWidget(dialog)
    dialog.show()
    # Meanwhile the autostart folder became a file: no entry can be written there.
    (tmp_path / "xdg").mkdir()
    (tmp_path / "xdg" / "autostart").write_text("a file, not a folder", encoding="utf-8")
    dialog.start_at_login.setChecked(True)
    _applied(dialog)
    assert dialog.isVisible()
    (message,) = prompter.told
    assert str(_entry(tmp_path)) in message.text
    assert "start almc-assistant yourself" in message.detail  # the next step
    dialog.reload()  # shown again: the box says it cannot be read, and is read-only
    assert not dialog.start_at_login.isEnabled()
    assert str(_entry(tmp_path)) in dialog.start_at_login_note.text()


def test_default_autostart_follows_the_environment(
    qtbot: QtBot, prompter, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    never = Config(start_at_login="never")
    dialog = SettingsDialog(SettingsService([], config=never), prompter, never)
    qtbot.addWidget(dialog)
    assert not dialog.start_at_login.isEnabled()
    assert not dialog.start_at_login.isChecked()
