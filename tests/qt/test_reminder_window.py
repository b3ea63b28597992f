"""The reminder window on the real service and the real session-end guard.

Real TIFFs in a real acquisition folder, the real catalog and copy engine, the real guard
and scheduler; only time is a fake clock (the guard's injected ``WallClock``), so that
snoozes are deterministic without sleeping.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np
import tifffile
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from pytestqt.qtbot import QtBot

from almc_assistant.core.destinations import Destination
from almc_assistant.core.session import PendingSummary
from almc_assistant.core.session_end import (
    EndKind,
    MarkerRecord,
    ReminderKind,
    ReminderSettings,
    SessionEndGuard,
    SessionMarker,
)
from almc_assistant.core.session_end.texts import reminder_title, sign_out_word
from almc_assistant.core.units import human_size
from almc_assistant.qt.bridge import EventPump, app_pump
from almc_assistant.qt.controller import AppController
from almc_assistant.qt.reminder_window import ReminderWindow
from tests.core.session_end.conftest import TZ, FakeClock
from tests.qt.real_service import Site, real_service


@dataclass
class Rig:
    site: Site
    pump: EventPump
    controller: AppController
    guard: SessionEndGuard
    clock: FakeClock
    files: list[Path]

    def drain(self) -> None:
        self.pump.drain()

    def window(self) -> ReminderWindow:
        """The reminder window, once the status worker's list of files has reached it
        (the list is read off the GUI thread and comes through the pump)."""
        deadline = time.monotonic() + 20
        while True:
            busy = self.site.service.state.busy  # it publishes before it is done
            self.drain()
            if not busy:
                break
            assert time.monotonic() < deadline, "the status worker did not answer"
            time.sleep(0.01)
        window = self.controller.window("reminder")
        assert isinstance(window, ReminderWindow)
        # "Back up now" is the default only once the service's worker has answered whether
        # copying to the destinations makes the files safe (it says "checking" until then)
        while "checking the destinations" in window.target.text():
            assert time.monotonic() < deadline, "the service did not answer the safety question"
            time.sleep(0.01)
            self.drain()
        return window


def _write_acquisition(acquisition: Path) -> list[Path]:
    """A dataset folder of two images and one lone image, finished an hour ago."""
    image = np.zeros((64, 64), dtype=np.uint16)
    (acquisition / "HeLa").mkdir()
    files = [
        acquisition / "HeLa" / "HeLa_DAPI_00.tif",
        acquisition / "HeLa" / "HeLa_DAPI_01.tif",
        acquisition / "overview.tif",
    ]
    for f in files:
        tifffile.imwrite(f, image)
    old = time.time() - 3600
    for f in files:
        os.utime(f, (old, old))
    return files


@contextmanager
def rig(
    tmp_path: Path,
    prompter,
    *,
    settings: ReminderSettings | None = None,
    previous: MarkerRecord | None = None,
    quiet_seconds: float = 30.0,
    separate_disks: bool = False,
    remotes: tuple[Destination, ...] = (),
) -> Iterator[Rig]:
    """``separate_disks``: the share and the drive are disks of their own (root only), so
    that the facility's destinations are enough (none on the acquisition disk counts)."""
    with real_service(
        tmp_path / "site",
        quiet_seconds=quiet_seconds,
        separate_disks=separate_disks,
        remotes=remotes,
    ) as site:
        files = _write_acquisition(site.acquisition)
        site.service.scan_once()  # the catalog now knows the three files
        assert site.service.pending_summary().files == 3
        pump = app_pump(site.sink)
        controller = AppController(site.service, pump, prompter, tray_available=True)
        clock = FakeClock(datetime(2026, 11, 18, 9, 0, tzinfo=TZ))
        if previous is not None:
            SessionMarker(site.service.paths.state_dir).write(previous)
        guard = SessionEndGuard.create(
            site.service.pending_summary,
            site.service.paths,
            site.sink,
            clock=clock,
            settings=settings or ReminderSettings(min_gap_minutes=0, daily_at=()),
            platform="linux",
        )
        guard.start()
        controller.attach_reminders(guard, refresh=guard.try_refresh)
        try:
            yield Rig(site, pump, controller, guard, clock, files)
        finally:
            controller.shutdown()


def test_strong_reminder_raises_the_window_with_the_files_and_sizes(
    qtbot: QtBot, prompter, tmp_path: Path
) -> None:
    with rig(tmp_path, prompter, separate_disks=True) as r:
        r.guard.refresh()
        r.drain()
        assert r.controller.window("reminder") is None  # nothing said yet
        r.guard.session_end_cancelled()  # a logout we held up was cancelled
        r.drain()
        window = r.window()
        assert window.isVisible()
        assert window.headline.text() == reminder_title(ReminderKind.SESSION_END_CANCELLED, "linux")
        assert sign_out_word() in window.why.text()  # "sign out" on Windows
        rows = {g.label: g for g in window.model.rows()}
        assert set(rows) == {"HeLa", "overview.tif"}
        hela = r.files[0].stat().st_size + r.files[1].stat().st_size
        assert rows["HeLa"].files == 2 and rows["HeLa"].bytes == hela
        assert rows["overview.tif"].bytes == r.files[2].stat().st_size
        shown = [
            window.model.data(window.model.index(i, 1)) for i in range(window.model.rowCount())
        ]
        assert human_size(hela) in shown
        assert "3 files" in window.summary.text()
        # The facility's retention gives a cleanup date; the share makes the data safe.
        assert "cleanup may delete" in window.cleanup.text()
        assert "Lab share" in window.target.text() and window.backup_makes_safe
        assert window.backup_button.isDefault()
        assert not window.later_button.isVisible()  # a strong reminder cannot be snoozed
        assert window.close_button.isVisible()
        assert r.controller.tray is not None and r.controller.tray.reminder is not None
        # A second reminder updates the one window in place.
        r.guard.locked()
        r.drain()
        assert r.window() is window
        assert window.headline.text() == reminder_title(ReminderKind.LOCKED, "linux")
        assert window.later_button.isVisible()


def test_snooze_goes_to_the_scheduler_which_stays_silent_until_it_ends(
    qtbot: QtBot, prompter, tmp_path: Path
) -> None:
    with rig(tmp_path, prompter) as r:
        r.guard.refresh()
        r.drain()
        assert r.guard.acquisition_finished()
        r.drain()
        assert r.controller.window("reminder") is None  # ordinary: a notification only
        tray = r.controller.tray
        assert tray is not None and tray.reminder is not None
        tray.menu.aboutToShow.emit()  # the menu is rebuilt when it opens
        entry = next(a for a in tray.menu.actions() if a.text() == "Backup reminder…")
        entry.trigger()
        window = r.window()
        assert window.isVisible() and window.later_button.isVisible()
        texts = [a.text() for a in window.later_menu.actions() if a.text()]
        assert texts == [
            "In 15 minutes",
            "In 30 minutes",
            "In 1 hour",
            "In 2 hours",
            f"When I {sign_out_word()}",
        ]
        choice = next(a for a in window.later_menu.actions() if a.text() == "In 30 minutes")
        choice.trigger()
        assert not window.isVisible()
        assert r.controller.reminder is None and tray.reminder is None
        tray.menu.aboutToShow.emit()
        assert "Backup reminder…" not in [a.text() for a in tray.menu.actions()]

        r.clock.advance(29 * 60)
        assert not r.guard.acquisition_finished()
        assert not r.guard.idle(3600)
        assert not r.guard.tick()
        r.drain()
        assert r.controller.reminder is None and not window.isVisible()
        r.clock.advance(2 * 60)  # the snooze is over
        assert r.guard.acquisition_finished()
        r.drain()
        assert r.controller.reminder is not None
        reminder = r.controller.reminder
        assert reminder is not None and reminder.kind is ReminderKind.ACQUISITION_FINISHED
        # Clicking the notification (the tray's messageClicked) opens the window.
        tray.native.messageClicked.emit()
        assert window.isVisible()
        with qtbot.assertNotEmitted(window.snooze_requested):
            window.close()  # the title bar's close button: no snooze, still pending
        assert not window.isVisible() and r.controller.reminder is not None


def test_after_the_last_snooze_only_backing_up_or_logout_remain(qtbot, prompter, tmp_path) -> None:
    settings = ReminderSettings(min_gap_minutes=0, daily_at=(), max_snoozes=1)
    with rig(tmp_path, prompter, settings=settings) as r:
        r.guard.refresh()
        r.guard.acquisition_finished()
        r.drain()
        window = r.controller.show_reminder()
        assert window is not None
        QTest.keyClick(window, Qt.Key.Key_Escape)  # Escape = remind me later (30 min)
        assert not window.isVisible() and r.controller.reminder is None
        r.clock.advance(31 * 60)
        assert r.guard.acquisition_finished()
        r.drain()
        assert r.controller.reminder is not None and not r.controller.reminder.can_snooze
        window = r.controller.show_reminder()
        assert window is not None
        delays = [a for a in window.later_menu.actions() if a.text().startswith("In ")]
        assert delays and not any(a.isEnabled() for a in delays)
        logout = next(
            a for a in window.later_menu.actions() if a.text() == f"When I {sign_out_word()}"
        )
        assert logout.isEnabled()
        QTest.keyClick(window, Qt.Key.Key_Escape)  # no snooze left: Escape only closes
        assert not window.isVisible()
        assert r.controller.reminder is not None  # still pending, still in the tray menu
        logout.trigger()
        assert r.controller.reminder is None
        r.clock.advance(24 * 3600)
        assert not r.guard.acquisition_finished()  # only the logout itself reminds now


def test_back_up_now_makes_verified_copies_and_the_reminder_is_withdrawn(
    qtbot: QtBot, prompter, tmp_path: Path
) -> None:
    # destinations on disks of their own: the service's per-disk answer lets it copy
    with rig(tmp_path, prompter, separate_disks=True) as r:
        r.pump.start()
        r.guard.refresh()
        r.guard.session_end_cancelled()
        qtbot.waitUntil(lambda: r.controller.window("reminder") is not None, timeout=5000)
        window = r.window()
        assert window.isVisible() and window.backup_button.isDefault()
        window.backup_button.click()
        assert not window.isVisible()
        qtbot.waitUntil(lambda: r.site.service.pending_summary().files == 0, timeout=60_000)
        for destination in (r.site.share, r.site.drive):
            for source in r.files:
                copies = list(destination.rglob(source.name))
                assert len(copies) == 1, (destination, source.name)
                assert copies[0].read_bytes() == source.read_bytes()
                # the acquisition folder's tree, not flattened into the root (issue 9)
                assert copies[0] == destination / source.relative_to(r.site.acquisition)
        # The service says the status changed; the guard sees nothing at risk and
        # withdraws the reminder; the tray's entry goes.
        qtbot.waitUntil(lambda: r.controller.reminder is None, timeout=10_000)
        assert not window.isVisible()
        assert r.controller.tray is not None and r.controller.tray.reminder is None
        assert r.guard.pending == PendingSummary()


def test_withdrawal_closes_the_window(qtbot: QtBot, prompter, tmp_path: Path) -> None:
    with rig(tmp_path, prompter) as r:
        r.guard.refresh()
        r.guard.session_end_cancelled()
        r.drain()
        assert r.window().isVisible()
        r.guard.update(PendingSummary())  # e.g. copied from another workstation
        r.drain()
        assert not r.window().isVisible() and r.controller.reminder is None
        assert r.controller.show_reminder() is None  # nothing pending to show


def test_next_login_after_a_session_that_ended_at_risk(
    qtbot: QtBot, prompter, tmp_path: Path
) -> None:
    ended = time.time() - 12 * 3600
    previous = MarkerRecord(
        pending=PendingSummary(12, 3_400_000_000, ended - 3600),
        updated=ended,
        ended_kind=EndKind.LOGOFF,
        ended_at=ended,
    )
    with rig(tmp_path, prompter, previous=previous) as r:
        assert r.guard.previous_session == previous
        r.guard.refresh()  # the first report after login compares with the marker
        r.drain()
        window = r.window()
        assert window.isVisible() and window.strong
        assert window.headline.text() == "Your last session ended before the backup"
        assert "12 files (3.4 GB)" in window.summary.text()
        assert "still only on this computer" in window.why.text()
        assert {g.label for g in window.model.rows()} == {"HeLa", "overview.tif"}
        assert not window.later_button.isVisible()


def test_keyboard_return_presses_the_default_and_escape_closes_a_strong_one(
    qtbot: QtBot, prompter, tmp_path: Path
) -> None:
    with rig(tmp_path, prompter, separate_disks=True) as r:
        r.guard.refresh()
        r.guard.session_end_cancelled()
        r.drain()
        window = r.window()
        window.present(activate=True)
        # Tab reaches every action (the table is skipped), the default first.
        assert window.focusWidget() is window.backup_button
        tab = Qt.FocusPolicy.TabFocus
        chain, widget = [], window.nextInFocusChain()
        while widget is not window:
            assert widget is not None  # the chain is a ring
            if widget.focusPolicy() & tab == tab and widget.isVisibleTo(window):
                chain.append(widget)
            widget = widget.nextInFocusChain()
        assert chain == [
            window.status_button,
            window.close_button,
            window.end_session_button,
            window.backup_button,
        ]
        with qtbot.waitSignal(window.backup_requested) as signal:
            QTest.keyClick(window, Qt.Key.Key_Return)
        assert sorted(signal.args[0]) == sorted(r.files)
        window.present(activate=True)
        with qtbot.assertNotEmitted(window.snooze_requested):
            QTest.keyClick(window, Qt.Key.Key_Escape)
        assert not window.isVisible()
        # Destinations that would not make the data safe: the wizard is the default.
        window.set_backup_target(["My drive"], "needs 1 more verified copy")
        assert window.end_session_button.isDefault() and not window.backup_button.isDefault()


def _reminder(kind: ReminderKind, *, strong: bool = False, can_snooze: bool = True):
    from almc_assistant.core.session_end import ReminderDue

    return ReminderDue(
        at=0.0,
        kind=kind,
        files=3,
        bytes=3_000,
        oldest=None,
        title=reminder_title(kind, "linux"),
        text="3 files (3.0 kB) from today are not backed up yet.",
        strong=strong,
        can_snooze=can_snooze,
    )


def test_files_past_their_cleanup_date_are_called_out(qtbot: QtBot, tmp_path: Path) -> None:
    from almc_assistant.core.catalog.records import FileState
    from almc_assistant.core.status import UnsafeFile

    now = 1_800_000_000.0

    def unsafe(name: str, days_left: float, age_days: float) -> UnsafeFile:
        return UnsafeFile(
            path=tmp_path / "run" / name,
            size=1_000,
            session_id=1,
            state=FileState.COMPLETE,
            verdict="native-ok",
            candidate_date=now + days_left * 86400,
            warn_date=now,
            missing="needs 1 verified copy",
            born=now - age_days * 86400,
        )

    window = ReminderWindow()
    qtbot.addWidget(window)
    window.set_reminder(_reminder(ReminderKind.SCHEDULED))
    window.set_files(
        [unsafe("a.nd2", -1, 31), unsafe("b.nd2", 3, 27), unsafe("c.nd2", 9, 21)], now=now
    )
    (group,) = window.model.rows()
    assert group.label == "run" and group.files == 3 and group.bytes == 3_000
    assert window.model.data(window.model.index(0, 2)) == "31 days"  # the oldest
    assert window.model.data(window.model.index(0, 3)) == "now"
    assert "delete 1 of these files <b>now</b>" in window.cleanup.text()
    window.set_files([unsafe("c.nd2", 9, 21)], now=now)  # updated in place
    (group,) = window.model.rows()
    assert group.label == "c.nd2"  # a lone file is named, not its folder
    assert "in 9 days" in window.cleanup.text()


def test_when_all_is_safe_the_window_says_so(qtbot: QtBot) -> None:
    window = ReminderWindow()
    qtbot.addWidget(window)
    window.set_reminder(_reminder(ReminderKind.IDLE))
    window.set_files([])
    window.present(activate=True)
    assert window.headline.text() == "All your files are backed up"
    assert window.close_button.isVisible() and window.close_button.isDefault()
    for hidden in (window.backup_button, window.end_session_button, window.later_button):
        assert not hidden.isVisible()


def test_a_failing_status_query_still_shows_the_reminder(qtbot: QtBot, prompter) -> None:
    from almc_assistant.core.errors import AlmcError
    from almc_assistant.core.events import QueueSink
    from tests.qt.helpers import FakeService

    class BrokenCatalog(FakeService):  # the catalog cannot be read: nothing else to fake
        def status(self):
            raise AlmcError("database disk image is malformed", title="Catalog unreadable")

    sink = QueueSink()
    pump = EventPump(sink)
    controller = AppController(BrokenCatalog(sink=sink), pump, prompter, tray_available=True)
    sink.publish(_reminder(ReminderKind.SESSION_END_CANCELLED, strong=True, can_snooze=False))
    pump.drain()
    window = controller.window("reminder")
    assert isinstance(window, ReminderWindow) and window.isVisible()
    # the list is the service's status answer; its failure comes back through the pump
    pump.drain()
    assert "could not be read: Catalog unreadable" in window.cleanup.text()
    assert "3 files (3.0 kB)" in window.summary.text()
    assert window.end_session_button.isVisible() and window.end_session_button.isDefault()
    assert not window.backup_button.isEnabled()  # nothing known to copy
    controller.shutdown()


def test_last_session_reminder_confirms_when_all_is_safe_now(qtbot: QtBot) -> None:
    from dataclasses import replace

    window = ReminderWindow()
    qtbot.addWidget(window)
    text = (
        "Your last session ended with 12 files (3.4 GB) not backed up. Everything is backed up now."
    )
    window.set_reminder(replace(_reminder(ReminderKind.LAST_SESSION, can_snooze=False), text=text))
    window.set_files([])
    assert window.headline.text() == "All your files are backed up"
    assert "12 files (3.4 GB)" in window.summary.text()


def test_a_finished_acquisition_seen_by_the_real_watcher_reminds(
    qtbot: QtBot, prompter, tmp_path: Path
) -> None:
    from almc_assistant.core.session_end.cues import ACQUISITION_QUIET
    from almc_assistant.core.watch.events import FileStabilised

    with rig(tmp_path, prompter, quiet_seconds=0.3) as r:
        stabilised: list[FileStabilised] = []
        r.pump.subscribe(FileStabilised, stabilised.append)
        last_batch = [time.monotonic()]
        r.pump.batch_arrived.connect(lambda _b: last_batch.__setitem__(0, time.monotonic()))
        r.guard.refresh()
        r.controller.start([])  # the real watcher, and the pump on its timer
        tifffile.imwrite(r.site.acquisition / "HeLa" / "HeLa_DAPI_02.tif", np.ones((64, 64)))
        # The watcher's scan and its observer may both report the file: wait until the
        # folder is quiet and the cues know nothing is being written.
        qtbot.waitUntil(
            lambda: (
                bool(stabilised)
                and r.guard.cues.acquiring == 0
                and time.monotonic() - last_batch[0] > 1.0
            ),
            timeout=20_000,
        )
        assert not r.guard.tick()  # the folder has not been quiet long enough yet
        r.clock.advance(ACQUISITION_QUIET + 1)
        assert r.guard.tick()  # the cue came from the pump's events, through the controller
        qtbot.waitUntil(lambda: r.controller.reminder is not None, timeout=5000)
        reminder = r.controller.reminder
        assert reminder is not None and reminder.kind is ReminderKind.ACQUISITION_FINISHED
        assert r.controller.window("reminder") is None  # ordinary: no window of its own


def test_next_login_when_the_last_sessions_files_are_safe_by_now(
    qtbot: QtBot, prompter, tmp_path: Path
) -> None:
    from almc_assistant.core.events import QueueSink
    from almc_assistant.core.paths import AppPaths
    from tests.qt.helpers import FakeService

    paths = AppPaths.under(tmp_path / "home").ensure()
    ended = time.time() - 3600
    SessionMarker(paths.state_dir).write(
        MarkerRecord(PendingSummary(12, 3_400_000_000, ended), ended, EndKind.LOGOFF, ended)
    )
    service = FakeService()  # nothing pending now (copied from another workstation)
    sink = QueueSink()
    pump = EventPump(sink)
    controller = AppController(service, pump, prompter, tray_available=True)
    guard = SessionEndGuard.create(service.pending_summary, paths, sink, platform="linux")
    guard.start()
    controller.attach_reminders(guard)
    assert guard.refresh() == PendingSummary()
    delivered = pump.drain()
    assert [type(e).__name__ for e in delivered] == ["ReminderDue"]  # the note was given
    assert controller.reminder is None and controller.window("reminder") is None
    assert controller.tray is not None and controller.tray.reminder is None
    controller.shutdown()
