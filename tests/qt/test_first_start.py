"""The first start without configuration, settings applied live, and the keyboard.

A real core service on temporary folders with no facility file: the tray says "not set
up" (not "problem"), the welcome window opens, tests folders and saves them, and the
service starts watching them; Settings then shows what was saved.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QImage, QPainter
from PySide6.QtWidgets import QApplication, QDialogButtonBox, QPushButton
from pytestqt.qtbot import QtBot

from almc_assistant.core.destinations import DestinationKind
from almc_assistant.core.events import QueueSink
from almc_assistant.core.paths import AppPaths
from almc_assistant.core.service import Service
from almc_assistant.core.setup_state import NOT_SET_UP
from almc_assistant.qt import humanize
from almc_assistant.qt.bridge import EventPump
from almc_assistant.qt.controller import AppController
from almc_assistant.qt.icons import State
from almc_assistant.qt.settings_dialog import SettingsDialog
from almc_assistant.qt.status_window import StatusWindow
from almc_assistant.qt.style import ReadableCheckStyle
from almc_assistant.qt.warnings_window import DeletionWarningWindow
from almc_assistant.qt.welcome import WelcomeWindow
from tests.qt.helpers import FakeService, today_summary

SAVE = QDialogButtonBox.StandardButton.Save


@pytest.fixture
def fresh(qtbot: QtBot, prompter, tmp_path: Path):
    paths = AppPaths.under(tmp_path / "home").ensure()  # no facility file, no user file
    sink = QueueSink()
    service = Service(paths, sink)
    pump = EventPump(sink)
    controller = AppController(service, pump, prompter, tray_available=True)
    controller.start([])
    yield controller, service, pump, tmp_path
    controller.shutdown()


def test_first_start_is_not_set_up_and_opens_the_welcome_window(fresh, qtbot: QtBot) -> None:
    controller, service, _pump, _tmp = fresh
    status = controller.status
    assert status.state is State.NOT_SET_UP and status.headline == NOT_SET_UP
    setup = service.setup_needed()
    assert status.details == (setup.detail, setup.next_step)
    assert NOT_SET_UP in controller.tray.native.toolTip()
    controller.tray.menu.aboutToShow.emit()  # the menu is rebuilt as it opens
    assert controller.tray.menu.actions()[0].text() == NOT_SET_UP
    assert "Set up…" in [a.text() for a in controller.tray.menu.actions()]
    welcome = controller.window("welcome")
    assert isinstance(welcome, WelcomeWindow) and welcome.isVisible()
    window = controller.show_status()
    assert window.headline() == NOT_SET_UP and window.setup_button.isVisibleTo(window)


def test_welcome_tests_and_saves_then_watching_starts(fresh, qtbot: QtBot, prompter) -> None:
    controller, service, _pump, tmp = fresh
    acq, backup = tmp / "acq", tmp / "backup"
    acq.mkdir()
    backup.mkdir()
    welcome: WelcomeWindow = controller.window("welcome")
    prompter.folder_to_choose = str(acq)
    welcome.add_folder_button.click()
    assert not welcome.add_dest_button.isEnabled()  # the kind first: no default
    assert welcome.kind.currentIndex() == -1
    welcome.kind.setCurrentIndex(welcome.kind.findData(DestinationKind.EXTERNAL_DRIVE))
    prompter.folder_to_choose = str(backup)
    welcome.add_dest_button.click()
    welcome.run_tests()
    qtbot.waitUntil(lambda: "✓ destination" in welcome.result.text(), timeout=10_000)
    text = welcome.result.text()
    assert "✓ acquisition folder" in text and "readable" in text and "writable" in text
    assert " free" in text and "never let an external drive" in text
    welcome.save()
    # Saved, not yet said in force: the window stays, Save disabled, until the service's
    # SettingsApplied comes through the pump (the engine in its own process answers so).
    assert welcome.isVisible() and not welcome.buttons.button(SAVE).isEnabled()
    qtbot.waitUntil(lambda: not welcome.isVisible(), timeout=10_000)
    qtbot.waitUntil(lambda: controller.status.state is not State.NOT_SET_UP, timeout=10_000)
    assert service.config.acquisition_folders == (acq,)
    assert [d.kind for d in service.config.user.destinations] == [DestinationKind.EXTERNAL_DRIVE]
    # Settings reopened shows what was saved, not the configuration of the start-up.
    settings = controller.show_settings()
    assert settings.folders.item(0).text() == str(acq)
    settings.close()
    settings = controller.show_settings()
    settings.save()  # pressing Save again keeps the folders
    assert service.config.acquisition_folders == (acq,)
    qtbot.waitUntil(lambda: not settings.isVisible(), timeout=10_000)  # once applied


def test_remove_buttons_wait_for_a_selection(fresh, prompter) -> None:
    controller, _service, _pump, tmp = fresh
    acq, backup = tmp / "acq", tmp / "backup"
    acq.mkdir()
    backup.mkdir()
    welcome: WelcomeWindow = controller.window("welcome")
    assert not welcome.remove_folder_button.isEnabled()  # nothing to remove yet
    assert not welcome.remove_dest_button.isEnabled()
    prompter.folder_to_choose = str(acq)
    welcome.add_folder_button.click()
    welcome.kind.setCurrentIndex(welcome.kind.findData(DestinationKind.EXTERNAL_DRIVE))
    prompter.folder_to_choose = str(backup)
    welcome.add_dest_button.click()
    assert not welcome.remove_folder_button.isEnabled()  # added, not selected
    welcome.folders.item(0).setSelected(True)
    assert welcome.remove_folder_button.isEnabled()
    assert not welcome.remove_dest_button.isEnabled()
    welcome.remove_folder_button.click()
    assert welcome.folders.count() == 0 and not welcome.remove_folder_button.isEnabled()
    welcome.destinations.item(0).setSelected(True)
    assert welcome.remove_dest_button.isEnabled()
    welcome.remove_dest_button.click()
    assert welcome.destinations.count() == 0 and not welcome.remove_dest_button.isEnabled()


def test_reminder_settings_reach_the_running_guard(fresh, qtbot) -> None:
    """Settings' reminders reach the service's guard and the reminder window's snooze."""
    controller, service, _pump, _tmp = fresh
    guard = service.session_end_guard()
    controller.attach_reminders(guard)
    settings = controller.show_settings()
    settings.idle.setValue(7)
    settings.every.setValue(45)
    settings.snooze.setValue(12)
    settings.daily_at.setText("12:30, 18:00")
    settings.min_gap.setValue(20)
    settings.max_snoozes.setValue(4)
    settings.save()
    s = guard.reminders.settings  # at once: the service applied them, no relay
    assert (s.idle_after, s.every, s.snooze, s.min_gap) == (7 * 60, 45 * 60, 12 * 60, 20 * 60)
    assert s.daily_at == ("12:30", "18:00") and s.max_snoozes == 4
    reopened = controller.show_settings()
    assert reopened.daily_at.text() == "12:30, 18:00" and reopened.max_snoozes.value() == 4
    reopened.close()
    guard.update(today_summary(2, 10**9))
    assert guard.reminders.acquisition_finished()
    qtbot.waitUntil(lambda: controller.reminder is not None, timeout=5_000)
    window = controller.show_reminder()
    assert window is not None and window.snooze_default == 12 * 60


def test_a_time_of_day_that_is_not_one_is_told_and_nothing_is_saved(fresh, prompter) -> None:
    controller, service, _pump, _tmp = fresh
    settings = controller.show_settings()
    settings.daily_at.setText("25:00")
    settings.save()
    assert prompter.told and "25:00" in prompter.told[-1].text
    assert settings.isVisible() and service.config.user.reminders.daily_at == ("17:00",)


def test_an_open_settings_window_follows_settings_saved_elsewhere(fresh, qtbot) -> None:
    """Settings open while the welcome window saves the folders: Save in Settings
    afterwards keeps them (it used to save the folders it had shown, none)."""
    controller, service, _pump, tmp = fresh
    acq = tmp / "acq"
    acq.mkdir()
    settings = controller.show_settings()
    assert settings.folders.count() == 0
    service.save_user_config(replace(service.config.user, folders=(acq,)))
    qtbot.waitUntil(lambda: settings.folders.count() == 1, timeout=5_000)
    settings.snooze.setValue(45)
    settings.save()
    assert service.config.acquisition_folders == (acq,)
    assert service.config.user.reminders.snooze_minutes == 45


def test_a_new_destination_asks_for_its_kind(qtbot: QtBot, prompter, tmp_path: Path) -> None:
    from almc_assistant.core.config import Config

    dialog = SettingsDialog(FakeService(), prompter, Config())
    qtbot.addWidget(dialog)
    tab = dialog.destinations
    assert tab.chosen_kind() is None and tab.kind.currentIndex() == -1
    tab.folder.setText(str(tmp_path))
    tab._on_add_clicked()
    assert "Choose the kind of storage first" in tab.result.text()
    assert tab.user_destinations() == ()


def test_pickers_open_where_the_data_is(qtbot: QtBot, prompter, tmp_path: Path) -> None:
    from almc_assistant.core.config import Config, WatchSettings

    acq = tmp_path / "acq"
    dialog = SettingsDialog(FakeService(), prompter, Config(watch=WatchSettings(folders=(acq,))))
    qtbot.addWidget(dialog)
    assert dialog.start_folder() == str(acq)
    dialog.destinations._on_browse_clicked()
    assert prompter.folder_start == str(acq)
    empty = SettingsDialog(FakeService(), prompter, Config())
    qtbot.addWidget(empty)
    assert empty.start_folder() == str(Path.home())


@pytest.mark.parametrize("kind", ["status", "warnings", "settings"])
def test_escape_closes_every_non_modal_window(qtbot: QtBot, prompter, kind) -> None:
    from almc_assistant.core.config import Config

    window = {
        "status": lambda: StatusWindow(),
        "warnings": lambda: DeletionWarningWindow(),
        "settings": lambda: SettingsDialog(FakeService(), prompter, Config()),
    }[kind]()
    qtbot.addWidget(window)
    window.show()
    window.windowHandle().requestActivate()  # shortcuts act in the active window
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window, timeout=5_000)
    qtbot.keyClick(window, Qt.Key.Key_Escape)
    assert not window.isVisible()


def test_tab_leaves_tables(qtbot: QtBot) -> None:
    window = DeletionWarningWindow()
    qtbot.addWidget(window)
    from PySide6.QtWidgets import QTableView

    tables = window.findChildren(QTableView)
    assert tables and all(not t.tabKeyNavigation() for t in tables)


def test_focus_ring_is_drawn_in_the_highlight_colour(qtbot: QtBot) -> None:
    style = ReadableCheckStyle("Fusion")
    button = QPushButton("Save")
    qtbot.addWidget(button)
    button.setStyle(style)
    button.resize(120, 40)

    def grab(focused: bool) -> QImage:
        from PySide6.QtWidgets import QStyle, QStyleOptionButton

        option = QStyleOptionButton()
        option.initFrom(button)
        option.rect = button.rect()
        if focused:
            option.state |= QStyle.StateFlag.State_HasFocus
        image = QImage(120, 40, QImage.Format.Format_ARGB32)
        image.fill(0)
        painter = QPainter(image)
        style.drawPrimitive(QStyle.PrimitiveElement.PE_PanelButtonCommand, option, painter, button)
        painter.end()
        return image

    highlight = QApplication.palette().highlight().color()
    ring = grab(True).pixelColor(QPoint(60, 1))
    plain = grab(False).pixelColor(QPoint(60, 1))
    assert ring != plain
    assert abs(ring.hue() - highlight.hue()) < 20 or ring.blue() > ring.red()


def test_time_left_words() -> None:
    assert humanize.time_left(3) == "a few seconds left"
    assert humanize.time_left(30) == "less than a minute left"
    assert humanize.time_left(180) == "about 3 minutes left"
    assert humanize.time_left(None) == "—"


def test_every_table_lets_tab_leave(qtbot: QtBot) -> None:
    from almc_assistant.qt.settings_destinations import DEST_COLUMNS
    from almc_assistant.qt.table_model import SnapshotTableModel
    from almc_assistant.qt.table_view import make_table

    model = SnapshotTableModel(DEST_COLUMNS, key=lambda d: str(d.path))
    view = make_table(model)
    model.setParent(view)  # deleted with the view, never before it
    qtbot.addWidget(view)
    assert not view.tabKeyNavigation()


def test_the_first_start_at_login_notice_says_how_to_turn_it_off() -> None:
    from almc_assistant.qt.app import START_AT_LOGIN_TEXT

    assert (
        "Settings" in START_AT_LOGIN_TEXT and "almc-assistant autostart off" in START_AT_LOGIN_TEXT
    )
