"""Starting the tray app: ``run(paths) -> exit status`` (called by ``cli/gui.py``).

Thread contract: :func:`run` is called on the main thread, creates the QApplication and
every QObject there, and returns when the app quits. Order of events:

1. one instance per user: if one is running, hand it ``paths`` (or ask it to come
   forward) and return 0;
2. a rotating log file in the user's log folder; uncaught exceptions are logged and
   shown (``qt/crash.py``);
3. the core's service in a child process (:class:`~almc_assistant.core.service_process.
   EngineProcess`: its workers never hold this process's GIL, and a crash of the engine
   leaves the windows up, says so and offers a restart), its events put on a queue that
   the :class:`EventPump` drains on the GUI thread;
4. the tray icon, or the main window where the desktop has no tray;
5. starting at login (:func:`apply_start_at_login`): the facility's policy, or on the
   first start of an installed app enabled and said once with how to turn it off, since
   logout reminders need the app running (never from a source checkout unless asked).
"""

from __future__ import annotations

import gc
import logging
import logging.handlers
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QCoreApplication, QTimer
from PySide6.QtWidgets import QApplication

from almc_assistant import __version__
from almc_assistant.core.autostart import Autostart, StartOutcome
from almc_assistant.core.errors import AlmcError
from almc_assistant.core.events import QueueSink
from almc_assistant.core.paths import AppPaths
from almc_assistant.core.privatefs import PrivateRotatingFileHandler, ensure_private_dir
from almc_assistant.core.service import Service
from almc_assistant.core.service_process import EngineNotStarted, EngineProcess, EngineStopped
from almc_assistant.qt import crash, icons
from almc_assistant.qt.bridge import EventPump, app_pump
from almc_assistant.qt.controller import AppController
from almc_assistant.qt.gc_guard import GuiThreadCollector
from almc_assistant.qt.priority import BackgroundPriority
from almc_assistant.qt.prompts import Choice, Level, Message, Prompter, QtPrompter, Question, Role
from almc_assistant.qt.single_instance import SingleInstance, server_name
from almc_assistant.qt.style import install_readable_style

if TYPE_CHECKING:
    from almc_assistant.qt.session.hooks import SessionEndHooks

log = logging.getLogger(__name__)

LOG_FILE_NAME = "almc-assistant.log"


def run(paths: list[str]) -> int:
    """Start the tray app (or hand ``paths`` to the running one); returns the exit status."""
    app_paths = AppPaths.default().ensure()
    log_file = setup_log_file(app_paths.log_dir)
    qapp = _application()
    instance = SingleInstance(server_name(str(app_paths.state_dir)))
    absolute = [str(Path(p).absolute()) for p in paths]
    if instance.forward({"paths": absolute}):
        log.info("handed %d path(s) to the running instance", len(absolute))
        return 0
    instance.listen()
    prompter = QtPrompter()
    crash.install(prompter, str(log_file))
    sink = QueueSink()
    try:  # invalid settings are reported, safe defaults used
        service = make_service(app_paths, sink)
    except AlmcError as err:
        prompter.tell(Message(err.title, err.detail, err.next_step, Level.ERROR))
        return 2
    pump = app_pump(sink)
    controller = AppController(service, pump, prompter)
    if isinstance(service, EngineProcess):
        follow_engine(service, pump, prompter, controller.start_watching_again)
    prompter.default_folder = controller.data_folder  # pickers open where the data is
    instance.message_received.connect(controller.on_instance_message)
    qapp.aboutToQuit.connect(controller.shutdown)
    qapp.aboutToQuit.connect(instance.close)
    hooks = _install_session_end(qapp, service)
    if hooks is not None:  # snoozes, cues and prompt withdrawal go through the guard
        controller.attach_reminders(hooks.guard, refresh=hooks.refresh_now)
        controller.before_quit = hooks.allow_quit  # our own quit never holds up a logout
    controller.start(absolute)
    tray = controller.tray
    QTimer.singleShot(  # once the tray icon is up, so that the notice has it to show on
        1000,
        lambda: apply_start_at_login(
            service.autostart(),
            tray.notify if tray is not None else lambda title, text: log.info(text),
        ),
    )
    tune_gc()
    collector = GuiThreadCollector(parent=qapp)  # cycles freed on the GUI thread only
    collector.start()
    qapp.aboutToQuit.connect(collector.stop)
    BackgroundPriority(qapp).start()  # the GUI thread before the workers (Linux)
    log.info("almc-assistant %s started", __version__)
    code = int(qapp.exec())
    if hooks is not None:
        hooks.uninstall()
    return code


def _install_session_end(
    qapp: QApplication, service: EngineProcess | Service
) -> SessionEndHooks | None:
    """The logout/shutdown reminder (``qt/session``): the service's session-end guard
    (it keeps the guard's reminder settings those in force) and the platform's adapters.
    A failure here costs the reminder, never the app."""
    try:
        from almc_assistant.qt.session import install_session_end_hooks

        guard = service.session_end_guard()
        guard.start()
        hooks = install_session_end_hooks(qapp, guard)
        # The session ends (SIGTERM, XSMP "Die", GNOME "Stop"): leave now. Not quit():
        # in Qt 6 that first closes every window, and a window that refuses (the main
        # window asks "Quit almc-assistant?") would keep the app running on.
        hooks.quitRequested.connect(lambda: qapp.exit(0))
        return hooks
    except Exception:
        log.exception("session-end reminders unavailable on this desktop")
        return None


START_AT_LOGIN_TITLE = "almc-assistant will start when you log in"
START_AT_LOGIN_TEXT = (
    "So it can remind you before you log out with data that is not backed up. "
    "To turn this off: Settings, Reminders, uncheck \u201cStart almc-assistant when I log "
    "in\u201d (or run: almc-assistant autostart off)."
)


def apply_start_at_login(
    autostart: Autostart, notify: Callable[[str, str], None]
) -> StartOutcome | None:
    """Apply the start-at-login policy at start-up; on the first start that enables it,
    say so once through ``notify(title, text)``. A failure is logged (Settings and
    ``almc-assistant autostart`` show it); the app runs on."""
    try:
        outcome = autostart.apply_at_start()
    except AlmcError as err:
        log.warning("start at login: %s", err)
        return None
    log.info("start at login: %s (%s)", outcome.value, autostart.backend.location)
    if outcome is StartOutcome.ENABLED_FIRST_START:
        notify(START_AT_LOGIN_TITLE, START_AT_LOGIN_TEXT)
    return outcome


def tune_gc() -> None:
    """Keep Python's full garbage collections from freezing the GUI.

    A full collection walks every tracked object; with the rows of 10,000 files that is
    over 100 ms, and it runs whenever enough objects have piled up, in the middle of a
    copy (``bench/bench_ui_latency.py`` measured it). Most tracked objects are the
    modules, classes and Qt wrappers loaded at start-up: they are moved out of the
    collector's sight (``gc.freeze``), so a full collection only walks what the app
    created since.
    """
    gc.collect()
    gc.freeze()


def make_service(app_paths: AppPaths, sink: QueueSink) -> EngineProcess | Service:
    """The core's service facade (``core/service.py``) in a child process, its events
    published to ``sink``; it reads the configuration and owns it from then on. Where no
    child process can be started, the service runs in this process (as before: the GUI
    may then wait for the GIL while it works, and a crash of it ends the app)."""
    try:
        return EngineProcess(app_paths, sink)
    except EngineNotStarted as err:
        log.error("the engine runs in the GUI's process: %s", err)
        return Service(app_paths, sink)


ENGINE_STOPPED = "engine-stopped"


def follow_engine(
    engine: EngineProcess,
    pump: EventPump,
    prompter: Prompter,
    restarted: Callable[[], None],
) -> None:
    """When the engine's process ends unexpectedly: say so, and restart it if the user
    wants (then ``restarted()``); the windows stay up and every call in between fails at
    once with a clear error, never a hang."""

    def ask(event: EngineStopped) -> None:
        answer = prompter.ask(
            Question(
                key=ENGINE_STOPPED,
                title="The backup engine stopped",
                text=f"almc-assistant's backup engine ended unexpectedly (exit code "
                f"{event.exit_code}). Copies verified before are recorded; a copy or check "
                "that was running did not finish.",
                detail=f"Its log: {engine.paths.log_dir}. Restart it, then start any "
                "unfinished copy again.",
                choices=(
                    Choice("restart", "Restart the engine"),
                    Choice("later", "Not now", Role.REJECT),
                ),
                default="restart",
                level=Level.ERROR,
            )
        )
        if answer != "restart":
            return
        try:
            engine.restart()
        except AlmcError as err:
            prompter.tell(Message(err.title, err.detail, err.next_step, Level.ERROR))
            return
        restarted()

    # asked outside the pump's delivery (the question box runs an event loop of its own)
    pump.subscribe(EngineStopped, lambda e: QTimer.singleShot(0, lambda: ask(e)))


def _application() -> QApplication:
    existing = QApplication.instance()
    if isinstance(existing, QApplication):
        qapp = existing
    else:
        QCoreApplication.setApplicationName("almc-assistant")
        QCoreApplication.setOrganizationName("ALMC")
        QCoreApplication.setApplicationVersion(__version__)
        qapp = QApplication(sys.argv[:1])
    QApplication.setDesktopFileName("almc-assistant")
    qapp.setWindowIcon(icons.app_icon())
    install_readable_style(qapp)  # check boxes visible in dark mode
    qapp.setQuitOnLastWindowClosed(False)  # the tray keeps running without windows
    return qapp


def setup_log_file(log_dir: Path) -> Path:
    """A rotating debug log in the user's log folder (kept apart from the audit log):
    the folder 0700, the files 0600, never opened through a link."""
    ensure_private_dir(log_dir)
    path = log_dir / LOG_FILE_NAME
    root = logging.getLogger()
    if not any(getattr(h, "baseFilename", None) == str(path) for h in root.handlers):
        handler = PrivateRotatingFileHandler(
            path, maxBytes=2_000_000, backupCount=5, encoding="utf-8"
        )
        handler.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)s %(threadName)s %(name)s: %(message)s")
        )
        handler.setLevel(logging.INFO)
        if root.getEffectiveLevel() > logging.INFO:
            # Keep the console as quiet as it was; only the file gets INFO.
            for existing in root.handlers:
                if existing.level == logging.NOTSET:
                    existing.setLevel(root.getEffectiveLevel())
            root.setLevel(logging.INFO)
        root.addHandler(handler)
    return path
