"""TrayIcon: state icon and tooltip, menu rebuilt on opening, choices become signals."""

from __future__ import annotations

from PySide6.QtWidgets import QMenu
from pytestqt.qtbot import QtBot

from almc_assistant.qt import icons
from almc_assistant.qt.icons import State
from almc_assistant.qt.tray import TrayIcon, TrayStatus


def _texts(menu: QMenu) -> list[str]:
    return [a.text() for a in menu.actions() if not a.isSeparator()]


def _action(menu: QMenu, text: str):
    return next(a for a in menu.actions() if a.text() == text)


def test_status_sets_icon_and_tooltip(qtbot: QtBot) -> None:
    tray = TrayIcon()
    status = TrayStatus(State.AT_RISK, "3 files (12.4 GB) from today are not backed up yet")
    tray.set_status(status)
    assert "3 files (12.4 GB) from today are not backed up yet" in tray.native.toolTip()
    assert tray.native.icon().cacheKey() == icons.state_icon(State.AT_RISK).cacheKey()


def test_menu_is_rebuilt_when_it_opens(qtbot: QtBot) -> None:
    tray = TrayIcon()
    tray.set_status(TrayStatus(State.SAFE, "All your files are backed up"))
    tray.menu.aboutToShow.emit()
    texts = _texts(tray.menu)
    assert texts[0] == "All your files are backed up"
    assert texts[1:] == [
        "End session and back up…",
        "Transfer window",
        "Check files…",
        "Status",
        "Settings",
        "Quit",
    ]
    assert not _action(tray.menu, "All your files are backed up").isEnabled()

    tray.set_status(TrayStatus(State.COPYING, "Copying… 40%", ("2 files",), 0.4, can_pause=True))
    tray.menu.aboutToShow.emit()
    assert _texts(tray.menu)[:3] == ["Copying… 40%", "2 files", "Pause copying"]
    tray.set_status(
        TrayStatus(State.COPYING, "Copying paused", (), 0.4, can_pause=True, paused=True)
    )
    tray.menu.aboutToShow.emit()
    assert "Resume copying" in _texts(tray.menu)


def test_menu_choices_emit_signals(qtbot: QtBot) -> None:
    tray = TrayIcon()
    tray.set_status(TrayStatus(State.COPYING, "Copying", (), 0.1, can_pause=True))
    tray.menu.aboutToShow.emit()
    pairs = {
        "End session and back up…": tray.end_session_requested,
        "Transfer window": tray.transfer_window_requested,
        "Check files…": tray.check_files_requested,
        "Status": tray.status_requested,
        "Settings": tray.settings_requested,
        "Quit": tray.quit_requested,
        "Pause copying": tray.pause_requested,
    }
    for text, signal in pairs.items():
        with qtbot.waitSignal(signal, timeout=1000):
            _action(tray.menu, text).trigger()


def test_clicking_the_icon_opens_the_status(qtbot: QtBot) -> None:
    tray = TrayIcon()
    with qtbot.waitSignal(tray.status_requested, timeout=1000):
        tray.native.activated.emit(tray.native.ActivationReason.Trigger)


def test_the_icon_changes_only_when_the_ring_moves_a_step(qtbot: QtBot) -> None:
    tray = TrayIcon()
    replaced: list[int] = []
    native = tray.native
    tray.set_status(TrayStatus(State.COPYING, "Copying… 50%", progress=0.50))
    first = native.icon().cacheKey()
    assert first == icons.state_icon(State.COPYING, 0.50).cacheKey()
    tray.set_status(TrayStatus(State.COPYING, "Copying… 51%", progress=0.51))
    assert native.icon().cacheKey() == first  # same step of the ring: not replaced
    assert "Copying… 51%" in native.toolTip()  # the tooltip follows every percent
    tray.set_status(TrayStatus(State.COPYING, "Copying… 60%", progress=0.60))
    replaced.append(native.icon().cacheKey())
    assert replaced[0] == icons.state_icon(State.COPYING, 0.60).cacheKey() != first
    tray.set_status(TrayStatus(State.SAFE, "All your files are backed up"))
    assert native.icon().cacheKey() == icons.state_icon(State.SAFE).cacheKey()


def test_ring_icons_are_drawn_over_one_rendering_of_the_svg(qtbot: QtBot) -> None:
    base = icons.render("state-copying", 32).toImage()
    ringed = icons.render("state-copying", 32, 0.5).toImage()
    again = icons.render("state-copying", 32).toImage()
    assert base == again  # drawing a ring does not touch the cached rendering
    assert ringed != base and ringed.size() == base.size()
