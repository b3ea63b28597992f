"""The tray app's engine in a child process: :class:`EngineProcess` is the service's port
(``qt/service_port.py``) forwarding each call over a pipe to a real
:class:`~almc_assistant.core.service.Service` in a process of its own.

Why: in one process the GUI thread waits for the GIL whenever the copy, check, catalog
and service workers hold it (``bench/bench_ui_latency.py``: ticks 100-300 ms late while
10,000 files are checked or copied). In a child process they hold another interpreter's
GIL; the GUI process keeps the GUI thread and one reader thread. A crash of the engine
(a native library, memory) no longer takes the windows with it: the user is told and
may restart it (:meth:`EngineProcess.restart`). The command line keeps the in-process
service.

Protocol (pickled tuples over one duplex ``multiprocessing`` pipe, spawn context, so
the same on Linux, macOS, Windows and in a frozen bundle, which calls
``multiprocessing.freeze_support()`` first):

- parent to child: ``(call_id, method, args, kwargs)``; ``call_id`` 0 wants no reply;
- child to parent: ``("ready", config)`` once, or ``("failed", error)``; then
  ``("reply", call_id, ok, value_or_error)`` and ``("events", [event, ...])`` (the
  service's events, sent in batches about every 50 ms);
- a ``CheckReportReady`` comes without its files' ``details`` (what the headers said:
  no window shows them, and they were a quarter of the report's unpickling in the GUI
  process: ``bench_ui_latency.py --trace``, a check-phase tick 104 ms late, 32 ms of it
  waiting for the GIL the reader held); the command line's reports, in process, keep
  them (:func:`without_details`);
- a ``CheckReportReady`` of more than ``report_piece`` files comes as
  ``("files", [FileCheck, ...])`` pieces, in order, then the event with no files: the
  reader puts them back (:func:`split_report`, :func:`join_report`). Why: the report of
  a 10,000-file folder took 80-95 ms to unpickle, in one C call holding the GIL; the
  GUI thread, laying out its list meanwhile, waited for the GIL at each of its calls
  into Python (``bench_ui_latency.py --trace``: a check-phase tick 137 ms late, 65 ms
  of it neither on a CPU nor waiting for one). A piece unpickles in a few ms, and the
  reader lets go of the GIL between pieces (waiting on the pipe).
- likewise an answer that is a list of more than ``report_piece`` items (the session's
  10,000 files: 58 ms of the reader's CPU in one unpickling, ``--trace``) comes as
  ``("items", call_id, [item, ...])`` pieces, then its ``reply`` with an empty list.

Thread contract: every method of :class:`EngineProcess` may be called from any thread.
No call the windows make waits for the child (``tests/core/test_service_process.py``
runs them with the engine stopped): the ones that start work (``request_status``,
``check``, ``preflight``, ``start_copy``, a copy's ``pause``, ``resume`` and
``cancel``, ``start_watching``, ``end_session``, ``save_user_config``,
``test_locations``, the remote set-up calls) are sent without waiting; their request
ids (a preflight's, a location test's, a remote set-up's) and a copy's job id are
chosen here and sent along (:meth:`EngineProcess.ask`), and the outcome arrives as the
events the service publishes anyway; when the engine refuses (or is gone already) the
same events say why: a ``PreflightFinished`` or ``LocationsChecked`` with
``error_title``, a failed ``RemoteTested`` naming the remote, a copy's ``JobFinished``
in state "refused" (as the copy engine says a refused job), ``SettingsNotSaved``, or
``ServiceFailed``. The configuration in force, the destinations and the reminder
settings are answered from the last ``SettingsApplied`` without asking the child; a
receipt the user saves (``save_text``) is written by a thread of this process. Only
:meth:`EngineProcess.call` waits (at most ``timeout`` seconds: an engine that does not
answer is an error, never a hang), and only worker threads, tests and benchmarks use
it: ``pending_summary`` (the session-end guard's worker at a logout),
``session_files`` (the wizard's files page reads them in a worker), ``scan_once``
(benchmarks, tests) and ``stop``. A reader thread publishes the child's events to the
sink given here (the GUI's event pump drains it). When the child ends
without being asked, every waiting call fails with ``ServiceStopped`` at once and
:class:`EngineStopped` is published.

Ending: the child ends when asked (``stop``) or when the parent's end of the pipe closes
(the parent ended, however). Its way out is bounded: from the start of its shutdown a
timer ends it :data:`SHUTDOWN_LIMIT_S` later whatever still runs, each step's time goes
to its log (:data:`ENGINE_LOG`) and a step that hangs is named there. The parent's
:meth:`EngineProcess.stop` kills a child that has not ended by then. Whether the child
ended is read from its sentinel and it is reaped by one thread at a time
(:class:`_Child`).
"""

from __future__ import annotations

import copyreg
import itertools
import logging
import multiprocessing
import os
import pickle
import secrets
import sys
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.connection import wait as wait_ready
from multiprocessing.process import BaseProcess
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, NoReturn

from almc_assistant.core.config import Config, ReminderSettings, UserSettings
from almc_assistant.core.destinations import Destination
from almc_assistant.core.errors import AlmcError, ServiceStopped
from almc_assistant.core.events import Event, EventSink, QueueSink
from almc_assistant.core.paths import AppPaths
from almc_assistant.core.service_events import (
    CheckFailed,
    CheckReportReady,
    LocationsChecked,
    ServiceFailed,
    SettingsApplied,
    SettingsNotSaved,
    StatusQueried,
    preflight_failed,
)
from almc_assistant.core.service_remotes import RemoteSetup, RemoteTested
from almc_assistant.core.setup_state import NotSetUp, setup_needed

if TYPE_CHECKING:
    from almc_assistant.core.autostart import Autostart
    from almc_assistant.core.catalog import FileRecord
    from almc_assistant.core.inspect.results import FileCheck
    from almc_assistant.core.service import Service
    from almc_assistant.core.session import PendingSummary
    from almc_assistant.core.session_end import SessionEndGuard

log = logging.getLogger(__name__)


def _read_only(mapping: dict[Any, Any]) -> MappingProxyType[Any, Any]:
    return MappingProxyType(mapping)


# frozen values keep their mappings read-only (``MappingProxyType``): sent as a dict
copyreg.pickle(MappingProxyType, lambda m: (_read_only, (dict(m),)))

CONTEXT = multiprocessing.get_context("spawn")  # no fork of a process with Qt's threads
START_TIMEOUT_S = 120.0  # a cold start of a frozen bundle under load
CALL_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 60.0  # the service's own stop waits up to 10 s per part
SHUTDOWN_LIMIT_S = 45.0  # the child's own bound on its way out (below STOP_TIMEOUT_S)
HARD_EXIT = 70  # the child's exit code when a step of its shutdown hung
BATCH_S = 0.05  # the child sends its events in batches this far apart
MAX_BATCH = 500  # events per message: each message is unpickled in one go
REPORT_PIECE = 500  # a report's files, or an answer's items, per message (see the module)
ENGINE_NICENESS = 10  # the engine runs this much nicer than the GUI (where supported)
ENGINE_LOG = "almc-engine.log"
# The parent's thread reading the pipe; the GUI keeps it at its own priority
# (``qt/priority.py``: it holds the GIL while it unpickles).
READER_THREAD = "almc-engine-reader"

# What the parent may ask of the child's service (nothing else is dispatched).
CALLS = frozenset(
    {
        "config",
        "pending_summary",
        "request_status",
        "session_files",
        "start_watching",
        "scan_once",
        "check",
        "preflight",
        "start_copy",
        "end_session",
        "save_user_config",
        "test_locations",
        "set_up_remote",
        "test_remote",
        "trust_host_key",
        "sign_in",
        "cancel_sign_in",
        "stop",
    }
)
JOB_CONTROLS = frozenset({"pause", "resume", "cancel"})


class EngineNotStarted(AlmcError):
    """The engine's process could not be started or did not answer at its start."""

    title = "The backup engine did not start"


@dataclass(frozen=True, slots=True, kw_only=True)
class EngineStopped(Event):
    """The engine's process ended without being asked (a crash, or it was killed).
    Until :meth:`EngineProcess.restart` every call fails with ``ServiceStopped``; a copy
    that was running did not finish (verified copies already recorded stay recorded)."""

    exit_code: int | None


# One thread at a time reaps the children of this module (see _Child).
_REAP = threading.Lock()


class _Child:
    """The engine's process: whether it ended, waited for from any thread.

    ``multiprocessing``'s ``join``, ``is_alive`` and ``exitcode`` each call ``waitpid``.
    When two threads do at once (the reader once the pipe closes, :meth:`EngineProcess.
    stop`), one reaps the child and the other gets ECHILD, which Python 3.11's
    ``Popen.poll`` answers as "still running" until the first has recorded the exit
    code: ``stop`` said it had to kill an engine that had already ended, and the engine
    still seemed alive after (CI). Here whether it ended is read from its sentinel
    (readable once it ended; reading it reaps nothing) and it is reaped under one lock.
    """

    def __init__(self, process: BaseProcess) -> None:
        self.process = process

    def ended(self) -> bool:
        return bool(wait_ready([self.process.sentinel], 0))

    def wait(self, timeout: float) -> bool:
        """True once it ended (then reaped: its exit code known); False after ``timeout``."""
        if not wait_ready([self.process.sentinel], max(timeout, 0.0)):
            return False
        with _REAP:
            # Its sentinel is closed a moment before its exit status is there: a
            # non-blocking waitpid (``join(0)``) may still find it running.
            self.process.join()
        return True

    @property
    def exit_code(self) -> int | None:
        """None while it runs."""
        if not self.wait(0):
            return None
        with _REAP:
            return self.process.exitcode

    def kill(self) -> None:
        with _REAP:
            if self.process.exitcode is None:
                self.process.kill()


class RemoteCopy:
    """A copy running in the engine's process (the port's ``CopyHandle``)."""

    def __init__(self, engine: EngineProcess, job_id: str) -> None:
        self._engine = engine
        self._job_id = job_id
        self.finished = threading.Event()  # set when its JobFinished passes by

    @property
    def job_id(self) -> str:
        return self._job_id

    def pause(self) -> None:
        self._engine.post("job", self._job_id, "pause")

    def resume(self) -> None:
        self._engine.post("job", self._job_id, "resume")

    def cancel(self) -> None:
        self._engine.post("job", self._job_id, "cancel")

    def wait(self, timeout: float | None = None) -> bool | None:
        """True once the copy finished; None if it had not after ``timeout`` seconds."""
        return True if self.finished.wait(timeout) else None


class EngineProcess:
    """The service in a child process, behind the same typed port (see the module)."""

    def __init__(
        self,
        paths: AppPaths,
        sink: EventSink,
        *,
        config: Config | None = None,
        niceness: int = ENGINE_NICENESS,
        timeout: float = CALL_TIMEOUT_S,
        report_piece: int = REPORT_PIECE,
    ) -> None:
        self.paths = paths
        self.sink = sink
        self._config_arg = config
        self._niceness = niceness
        self._timeout = timeout
        self._report_piece = report_piece
        self._report_files: list[FileCheck] = []  # the pieces of a report (reader thread)
        self._reply_items: dict[int, list[Any]] = {}  # the pieces of answers (reader thread)
        self._lock = threading.Lock()  # sending, the waiting calls, the handles
        self._ids = itertools.count(1)
        self._waiting: dict[int, Future[Any]] = {}
        # the calls asked without waiting: what to publish if the engine refuses them
        # (and whether also when it ends before answering); see ask()
        self._refused: dict[int, tuple[Refused, bool]] = {}
        self._requests = itertools.count(1)  # request ids (every kind), chosen here
        self._copies: dict[str, RemoteCopy] = {}  # running copies, by job id
        from almc_assistant.core.transfer.events import JobFinished

        self._job_finished = JobFinished
        self._guard: SessionEndGuard | None = None
        self._asked_to_stop = False
        self._config = config or Config()
        self._conn, self._child = self._spawn()
        self._start_reader()

    # ------------------------------------------------------------------ the process
    def _spawn(self) -> tuple[Connection, _Child]:
        """Start the child and wait for its service (its configuration errors are
        raised here, as the in-process service raises them)."""
        ours, theirs = CONTEXT.Pipe()
        process = CONTEXT.Process(
            target=serve,
            args=(theirs, self.paths, self._config_arg, self._niceness, self._report_piece),
            name="almc-engine",
            daemon=True,
        )
        with _REAP:  # start() reaps the children that ended (multiprocessing._cleanup)
            process.start()
        theirs.close()
        try:
            if not ours.poll(START_TIMEOUT_S):
                raise EngineNotStarted(
                    f"It did not answer within {START_TIMEOUT_S:.0f} seconds of starting.",
                    next_step="Quit almc-assistant and start it again; if this repeats, "
                    "send the log folder to the facility staff.",
                )
            kind, value = ours.recv()
        except (EOFError, OSError) as err:
            _Child(process).wait(5)
            raise EngineNotStarted(
                f"Its process ended while starting (exit code {process.exitcode}): {err}.",
                next_step=f"See {ENGINE_LOG} in the log folder "
                f"({self.paths.log_dir}) and start almc-assistant again.",
            ) from None
        except EngineNotStarted:
            _Child(process).kill()
            raise
        if kind == "failed":
            _Child(process).wait(5)
            raise revive(value)
        self._config = value
        return ours, _Child(process)

    def _start_reader(self) -> None:
        threading.Thread(
            target=self._read,
            args=(self._conn, self._child),
            name=READER_THREAD,
            daemon=True,
        ).start()

    @property
    def alive(self) -> bool:
        return not self._child.ended()

    @property
    def pid(self) -> int | None:
        return self._child.process.pid

    @property
    def exit_code(self) -> int | None:
        """The engine's exit code once it ended (0: it stopped by itself; negative: the
        signal that ended it; :data:`HARD_EXIT`: a step of its shutdown hung)."""
        return self._child.exit_code

    def restart(self) -> None:
        """Start a new engine after the last one ended (its copies are gone)."""
        if not self._child.ended():
            return
        self._asked_to_stop = False
        self._conn, self._child = self._spawn()
        self._start_reader()

    def stop(self, timeout: float = STOP_TIMEOUT_S) -> None:
        """Stop the service in the child (copies cancelled, what is queued written, the
        catalog closed), then the child; one that has not ended ``timeout`` seconds
        later is killed (the catalog survives that: its writes are transactions).
        Returns once the child ended (or, if even a kill did not end it, says so)."""
        self._asked_to_stop = True
        child, started = self._child, time.monotonic()
        if not child.ended():
            try:
                self.call("stop", timeout=timeout)
            except AlmcError as err:  # not answering, or gone meanwhile
                log.warning("engine stop: %s", err)
            # Its end closes the pipe: the reader ends. At least a few seconds: a call
            # that timed out used the time, and the child bounds its own way out.
            child.wait(max(timeout - (time.monotonic() - started), 5.0))
        if child.ended():
            child.wait(0)  # reaped: its exit code known
            return
        log.warning(
            "the engine (pid %s) had not ended %.1f s after it was asked to stop: killed",
            child.process.pid,
            time.monotonic() - started,
        )
        child.kill()
        if not child.wait(timeout):
            log.error("the engine (pid %s) did not end after it was killed", child.process.pid)

    # ------------------------------------------------------------------ the pipe
    def call(self, method: str, *args: Any, timeout: float | None = None, **kwargs: Any) -> Any:
        """Call ``method`` of the child's service and wait for its answer."""
        future: Future[Any] = Future()
        with self._lock:
            call_id = next(self._ids)
            self._waiting[call_id] = future
            self._send((call_id, method, args, kwargs))
        try:
            return future.result(self._timeout if timeout is None else timeout)
        except FutureTimeout:
            with self._lock:
                self._waiting.pop(call_id, None)
            raise AlmcError(
                f"It did not answer {method} within {self._timeout:.0f} seconds.",
                title="The backup engine is not answering",
                next_step="Wait a moment and try again; if it stays busy, quit "
                "almc-assistant and start it again.",
            ) from None

    def ask(
        self,
        method: str,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        refused: Refused,
        *,
        also_when_ended: bool = False,
    ) -> None:
        """Ask ``method`` of the child's service without waiting for its answer (the
        outcome arrives as events). When the engine answers with an error, or is gone
        already, ``refused`` gets that error (on the reader thread, or here) to publish
        the event that says so; with ``also_when_ended``, also when the engine ends
        before answering (otherwise ``EngineStopped`` alone tells). Never raises."""
        with self._lock:
            call_id = next(self._ids)
            self._refused[call_id] = (refused, also_when_ended)
            try:
                self._send((call_id, method, args, kwargs))
                return
            except ServiceStopped as err:
                del self._refused[call_id]
                gone = err
        refused(gone)

    def post(self, method: str, *args: Any, **kwargs: Any) -> ServiceStopped | None:
        """Ask ``method`` of the child's service without waiting (its failures arrive
        as events, as from the service's own workers). Never raises: when the engine is
        gone, returns why (the caller answers with the event the engine would have sent)."""
        with self._lock:
            try:
                self._send((0, method, args, kwargs))
            except ServiceStopped as err:
                return err
        return None

    def _send(self, message: tuple[Any, ...]) -> None:
        """Under the lock: to the child, or ``ServiceStopped`` when it is gone."""
        if not self._child.ended():
            try:
                self._conn.send(message)
                return
            except (OSError, ValueError):
                pass
        raise _stopped(self._child.exit_code, self._asked_to_stop)

    def _read(self, conn: Connection, child: _Child) -> None:
        """The reader thread: events to the sink, answers to the waiting calls."""
        while True:
            try:
                message = conn.recv()
            except (EOFError, OSError):
                break
            except (pickle.UnpicklingError, AttributeError, ImportError, TypeError):
                log.exception("engine: an unreadable message")  # its caller times out
                continue
            if message[0] == "files":
                self._report_files.extend(message[1])
            elif message[0] == "events":
                events, pieces, self._report_files = message[1], self._report_files, []
                if pieces and isinstance(events[0], CheckReportReady):
                    events = [join_report(events[0], pieces), *events[1:]]
                for event in events:  # pieces not followed by their report were dropped
                    self._note(event)
                    self.sink.publish(event)
            elif message[0] == "items":
                self._reply_items.setdefault(message[1], []).extend(message[2])
            elif message[0] == "reply":
                _, call_id, ok, value = message
                items = self._reply_items.pop(call_id, None)
                if ok and items is not None:
                    value = [*items, *value]
                with self._lock:
                    future = self._waiting.pop(call_id, None)
                    asked = self._refused.pop(call_id, None)
                if asked is not None and not ok:
                    asked[0](revive(value))
                if future is None:
                    continue
                if ok:
                    future.set_result(value)
                else:
                    future.set_exception(revive(value))
        child.wait(5)
        conn.close()
        exit_code = child.exit_code
        with self._lock:
            waiting, self._waiting = self._waiting, {}
            unanswered, self._refused = self._refused, {}
        for future in waiting.values():
            future.set_exception(_stopped(exit_code, self._asked_to_stop))
        for refused, also_when_ended in unanswered.values():
            if also_when_ended:
                refused(_stopped(exit_code, self._asked_to_stop))
        if not self._asked_to_stop and child is self._child:
            log.error("the engine ended unexpectedly (exit code %s)", exit_code)
            self.sink.publish(EngineStopped(exit_code=exit_code))

    def _note(self, event: Event) -> None:
        """What the proxy answers itself follows the events (on the reader thread)."""
        if isinstance(event, SettingsApplied):
            before, self._config = self._config, event.config
            guard = self._guard
            if guard is not None and before.user.reminders != event.config.user.reminders:
                guard.apply_settings(event.config.user.reminders)
        elif isinstance(event, self._job_finished):
            with self._lock:
                handle = self._copies.pop(event.job_id, None)
            if handle is not None:
                handle.finished.set()

    # ------------------------------------------------------------------ the port
    @property
    def config(self) -> Config:
        """The configuration in force (the last one the engine applied)."""
        return self._config

    def reminder_settings(self) -> ReminderSettings:
        return self._config.user.reminders

    def autostart(self) -> Autostart:
        """Starting at login (this process's files or registry; as the service's)."""
        from almc_assistant.core.autostart import for_config

        return for_config(self._config, self.paths)

    def session_end_guard(self, *, platform: str = sys.platform) -> SessionEndGuard:
        """The session-end guard, in this process (the desktop's adapters are here); it
        asks the engine for the pending summary and follows the reminder settings."""
        from almc_assistant.core.session_end import SessionEndGuard

        with self._lock:
            if self._guard is None:
                self._guard = SessionEndGuard.create(
                    self.pending_summary,
                    self.paths,
                    self.sink,
                    settings=self.reminder_settings(),
                    platform=platform,
                )
            return self._guard

    def pending_summary(self) -> PendingSummary:
        """Waits for the engine (at most its call timeout): for worker threads only, the
        session-end guard's at a logout (a fresh count, or its timeout and last count);
        the windows ask ``request_status`` (``StatusQueried`` answers)."""
        return self.call("pending_summary")  # type: ignore[no-any-return]

    def request_status(self, *, report: bool = False, warnings: bool = False) -> None:
        err = self.post("request_status", report=report, warnings=warnings)
        if err is not None:
            self.sink.publish(
                StatusQueried(title=err.title, detail=err.detail, next_step=err.next_step)
            )

    def session_files(self) -> list[FileRecord]:
        """Waits for the engine: for worker threads only (the wizard's files page reads
        them in one; 10,000 files are a long answer)."""
        return self.call("session_files")  # type: ignore[no-any-return]

    def destinations(self) -> list[Destination]:
        """The destinations in force, from the configuration in force (as the service
        answers them), without asking the engine."""
        return list(self._config.destinations + self._config.remote_destinations)

    def start_watching(self) -> None:
        """Returns at once. ``NotSetUp`` is raised here when the configuration in force
        names no acquisition folders (as the service would; the engine is asked anyway,
        so that watching starts once settings name some); the engine's other refusals
        arrive as ``ServiceFailed`` (action "watch")."""
        self.ask(
            "start_watching",
            (),
            {},
            lambda err: None if isinstance(err, NotSetUp) else self._failed("watch", err),
        )
        setup = setup_needed(self._config, self.paths)
        if setup is not None:
            raise NotSetUp(setup)

    def scan_once(self) -> None:
        """Scan the acquisition folders once and wait (benchmarks, tests: never a window)."""
        self.call("scan_once", timeout=3600)

    def check(self, paths: Sequence[Path]) -> None:
        err = self.post("check", list(paths))
        if err is not None:
            self.sink.publish(
                CheckFailed(
                    paths=tuple(str(p) for p in paths),
                    title=err.title,
                    detail=err.detail,
                    next_step=err.next_step,
                )
            )

    def preflight(self, files: Sequence[Path], destinations: Sequence[Destination]) -> int:
        """Returns at once with a request id chosen here; ``PreflightFinished`` answers
        (with ``error_title`` when the engine refused, is gone, or ended meanwhile)."""
        request = self._request()
        self.ask(
            "preflight",
            (list(files), list(destinations)),
            {"request_id": request},
            lambda err: self._publish(preflight_failed(request, err)),
            also_when_ended=True,
        )
        return request

    def start_copy(
        self,
        files: Sequence[Path],
        destinations: Sequence[Destination | Path],
        workers: int | None = None,
        *,
        keep_tree: bool = False,
        record: bool = True,
    ) -> RemoteCopy:
        """Returns at once with the job's handle (its id chosen here); the job's events
        follow. A copy the engine refuses to start (or, gone already, cannot) ends with
        a ``JobFinished`` in state "refused" saying why, as a job the copy engine
        refused; one under way when the engine ends is told by ``EngineStopped``."""
        job_id = secrets.token_hex(6)
        handle = RemoteCopy(self, job_id)
        with self._lock:  # before its first event can arrive
            self._copies[job_id] = handle
        self.ask(
            "start_copy",
            (list(files), list(destinations), workers),
            {"keep_tree": keep_tree, "record": record, "job_id": job_id},
            lambda err: self._publish(copy_refused(job_id, err)),
        )
        return handle

    def _publish(self, event: Event) -> None:
        """An event made here (on the reader thread or the caller's), as if from the child."""
        self._note(event)
        self.sink.publish(event)

    def _request(self) -> int:
        """A request id chosen here, one sequence for every kind of request."""
        with self._lock:
            return next(self._requests)

    def _failed(self, action: str, err: BaseException) -> None:
        title, detail, next_step = _said(err, "The backup engine could not do that")
        self._publish(ServiceFailed(action=action, title=title, detail=detail, next_step=next_step))

    def end_session(self) -> None:
        """Returns at once (the session's id is not known here): ``SessionEnded``
        answers; a refusal arrives as ``ServiceFailed`` (action "end session")."""
        self.ask("end_session", (), {}, lambda err: self._failed("end session", err))

    def save_user_config(self, settings: UserSettings) -> Path:
        """Returns at once with the file the settings go to. Nothing is in force before
        ``SettingsApplied`` says so (the configuration answered here follows it); when the
        file cannot be written, or the engine is gone or ends first, ``SettingsNotSaved``
        says why (the settings in force are then the ones before)."""

        def refused(err: BaseException) -> None:
            title, detail, next_step = _said(err, "Your settings were not saved")
            self._publish(SettingsNotSaved(title=title, detail=detail, next_step=next_step))

        self.ask("save_user_config", (settings,), {}, refused, also_when_ended=True)
        return self.paths.user_config

    def save_text(self, path: str, text: str) -> None:
        """Returns at once: a thread of this process writes the user's file (a receipt:
        it needs no engine, even one that crashed) and publishes ``TextSaved`` or
        ``TextSaveFailed``, as the service does."""
        from almc_assistant.core.service import save_text_now

        threading.Thread(
            target=save_text_now, args=(path, text, self.sink), name="almc-save-text", daemon=True
        ).start()

    def test_locations(self, folders: Sequence[Path], destinations: Sequence[Destination]) -> int:
        """Returns at once with a request id chosen here; ``LocationsChecked`` answers
        (with ``error_title`` when the engine refused, is gone, or ended meanwhile)."""
        request = self._request()

        def refused(err: BaseException) -> None:
            title, detail, next_step = _said(err, "The folders could not be tested")
            self._publish(
                LocationsChecked(
                    request_id=request,
                    results=(),
                    error_title=title,
                    error_detail=detail,
                    error_next_step=next_step,
                )
            )

        self.ask(
            "test_locations",
            (list(folders), list(destinations)),
            {"request_id": request},
            refused,
            also_when_ended=True,
        )
        return request

    # The remote set-up calls: each returns at once with a request id chosen here;
    # ``RemoteTested`` answers, a failed one naming the remote when the engine refused,
    # is gone, or ended before answering.
    def set_up_remote(self, setup: RemoteSetup) -> int:
        """The secret crosses the pipe to the engine (a private pipe between two processes
        of this user), never into a log: ``RemoteSetup`` leaves it out of its repr."""
        return self._remote("set_up_remote", setup.spec, setup)

    def test_remote(self, destination: str) -> int:
        return self._remote("test_remote", destination, destination)

    def trust_host_key(self, destination: str, fingerprint: str) -> int:
        return self._remote("trust_host_key", destination, destination, fingerprint)

    def sign_in(self, backend: str, name: str, folder: str = "") -> int:
        return self._remote("sign_in", f"{name}:{folder}", backend, name, folder)

    def _remote(self, method: str, spec: str, *args: Any) -> int:
        from almc_assistant.core.remote.setup import failed_result

        request = self._request()
        self.ask(
            method,
            args,
            {"request_id": request},
            lambda err: self._publish(
                RemoteTested(request_id=request, result=failed_result(spec, err))
            ),
            also_when_ended=True,
        )
        return request

    def cancel_sign_in(self, request_id: int) -> None:
        self.post("cancel_sign_in", request_id)


Refused = Callable[[BaseException], None]


def _said(err: BaseException, title: str) -> tuple[str, str, str]:
    """``err``'s title, detail and next step (``title`` and its text for an unexpected one)."""
    if isinstance(err, AlmcError):
        return err.title, err.detail, err.next_step
    return (
        title,
        f"{type(err).__name__}: {err}",
        "Try again; if this repeats, send the log folder to the facility staff.",
    )


def copy_refused(job_id: str, err: BaseException) -> Event:
    """The ``JobFinished`` of a copy the engine did not start, saying why (nothing was
    copied: the job never ran)."""
    from almc_assistant.core.transfer.events import JobFinished, JobSummary

    title = getattr(err, "title", "") or "The copy could not start"
    summary = JobSummary(
        job_id=job_id,
        state="refused",
        files_total=0,
        bytes_total=0,
        verified=0,
        skipped=0,
        failed=0,
        sources_skipped=0,
        bytes_copied=0,
        seconds=0.0,
        error_title=title,
        error_detail=getattr(err, "detail", "") or str(err),
        error_next_step=getattr(err, "next_step", ""),
    )
    return JobFinished(job_id=job_id, summary=summary)


def _stopped(exit_code: int | None, asked: bool) -> ServiceStopped:
    if asked:
        return ServiceStopped("The backup engine was stopped.")
    return ServiceStopped(
        f"The backup engine ended unexpectedly (exit code {exit_code}).",
        title="The backup engine stopped",
        next_step="Restart it from the message almc-assistant shows, or quit and start "
        "almc-assistant again. Copies verified before are recorded; a copy that was "
        "running did not finish: start it again.",
    )


# ====================================================================== the child
def serve(
    conn: Connection,
    paths: AppPaths,
    config: Config | None,
    niceness: int,
    report_piece: int = REPORT_PIECE,
) -> None:
    """The child process: a real service answering the parent until it asks to stop
    or goes away (the pipe closes: the service stops, nothing is left behind). It always
    ends with ``os._exit``: a worker thread still winding down (a check pool's) must not
    keep it alive, and its way out is bounded (:class:`Shutdown`)."""
    _pass_over_group_signals()
    log_file = _log_to_file(paths.log_dir)
    shutdown = Shutdown(log_file, SHUTDOWN_LIMIT_S)
    if niceness and hasattr(os, "nice"):
        try:  # the engine below the GUI (Linux, macOS)
            os.nice(niceness)
        except OSError:
            pass
        else:
            _scheduling_group_of_its_own()
    sink = QueueSink()
    send_lock = threading.Lock()

    def send(message: tuple[Any, ...]) -> None:
        with send_lock:
            conn.send(message)

    from almc_assistant.core.service import Service

    try:
        service = Service(paths, sink, config=config)
    except Exception as err:
        shutdown.arm("its service did not start")
        shutdown.step("telling the parent why")
        try:
            send(("failed", _portable(err)))
        except (OSError, ValueError):
            pass  # the parent went away
        shutdown.exit(0)
    send(("ready", service.config))
    done = threading.Event()
    forwarder = threading.Thread(
        target=_forward,
        args=(sink, send, done, report_piece),
        name="almc-engine-events",
        daemon=True,
    )
    forwarder.start()
    copies: dict[str, Any] = {}
    try:
        _answer(conn, service, send, copies, shutdown, report_piece)
    finally:
        shutdown.arm("the parent's pipe closed")  # armed already after a "stop" call
        shutdown.step("stopping the service")
        service.stop()  # again after a "stop" call: then it returns at once
        shutdown.step("sending the last events")
        done.set()
        forwarder.join(10)
        shutdown.step("closing the pipe")
        try:
            conn.close()
        except OSError:
            pass
        # The catalog is closed and the copies cancelled.
        shutdown.exit(0)


AUTOGROUP = Path("/proc/self/autogroup")


def _scheduling_group_of_its_own(autogroup: Path = AUTOGROUP) -> bool:
    """Linux: the engine in a session of its own, so in a CPU scheduling group of its own
    (the kernel's autogroup, one per session), as nice as the engine itself.

    Why: with autogroup (most distributions' kernels) the scheduler shares the CPUs
    between groups first and applies niceness only within a group. In the GUI's group
    the busy engine used up the group's share, and the GUI thread, woken by its timer,
    waited for its group's next turn: ``bench_ui_latency.py --trace``, 10 ms ticks
    112-167 ms apart, 106-158 ms of it "waiting for a CPU", 0.1-17 ms on one, while other
    sessions' processes (at niceness 19 in their own groups) ran. In a group of its own
    the GUI's group is mostly asleep and is given a CPU as soon as it wakes; the
    engine's group yields to every other (its niceness). A session of its own also
    keeps a terminal's signals from it (see :func:`_pass_over_group_signals`). Returns
    whether the group's niceness was set (False elsewhere, or when not allowed)."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        os.setsid()
        niceness = os.nice(0)
        autogroup.write_text(f"{niceness}\n")
    except OSError as err:
        log.info("engine: no scheduling group of its own: %s", err)
        return False
    return True


GROUP_SIGNALS = ("SIGINT", "SIGTERM")


def _pass_over_group_signals() -> None:
    """A terminal's Ctrl-C or a session manager ending the process group sends SIGINT or
    SIGTERM to the engine too; the GUI would rather end it in order (its stop call, or
    its end closing the pipe). So the engine passes over them, where it can (on Windows,
    Ctrl-C). A handler that does nothing rather than ``SIG_IGN``: the programs the engine
    starts (rclone) get the default back when they start, and end on these signals."""
    import signal

    for name in GROUP_SIGNALS:
        signum = getattr(signal, name, None)
        if signum is None:
            continue
        try:
            signal.signal(signum, _passed_over)
        except (OSError, ValueError):  # not this platform's, or not the main thread
            pass


def _passed_over(signum: int, _frame: object) -> None:
    """On the main thread between two bytecodes; the call it interrupted goes on."""
    log.info("engine: signal %d passed over: the app ends the engine", signum)


class Shutdown:
    """The child's way out, bounded. :meth:`arm` at the start of the shutdown (a "stop"
    call, the pipe closing) starts a timer that ends the process ``limit`` seconds later
    with :data:`HARD_EXIT`, whatever still runs; :meth:`step` logs the time of the step
    before and names the next, so that a hang is diagnosable: the timer writes the step
    that hung to the log file (straight to the file: the logging lock may be what hangs)
    and to stderr."""

    def __init__(self, log_file: Path | None, limit: float) -> None:
        self._log_file = log_file
        self._limit = limit
        self._lock = threading.Lock()
        self._armed = 0.0  # time.monotonic() when armed; 0: not armed
        self._step = ""
        self._step_at = 0.0

    def arm(self, why: str) -> None:
        with self._lock:
            if self._armed:
                return
            self._armed = self._step_at = time.monotonic()
        log.info("engine: shutting down (%s); it ends within %.0f s", why, self._limit)
        timer = threading.Timer(self._limit, self._hard_exit)
        timer.name = "almc-engine-shutdown-limit"
        timer.daemon = True
        timer.start()

    def step(self, name: str) -> None:
        """``name`` starts now (the step before it ended)."""
        now = time.monotonic()
        with self._lock:
            before, took = self._step, now - self._step_at
            self._step, self._step_at = name, now
        if before:
            log.info("engine: shutdown: %s took %.2f s", before, took)

    def exit(self, code: int) -> NoReturn:
        """The last step done: end the process (the log flushed and closed first)."""
        self.step("closing the log")
        log.info("engine: exiting %.2f s after the shutdown began", time.monotonic() - self._armed)
        logging.shutdown()
        os._exit(code)

    def _hard_exit(self) -> None:
        with self._lock:
            step, took = self._step or "(no step)", time.monotonic() - self._step_at
        line = (
            f"{time.strftime('%Y-%m-%d %H:%M:%S')} ERROR engine: shutdown: {step} did not "
            f"end in {took:.1f} s ({self._limit:.0f} s since the shutdown began): "
            f"exiting now (exit code {HARD_EXIT})\n"
        ).encode("utf-8", "replace")
        if self._log_file is not None:
            try:
                fd = os.open(self._log_file, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
                try:
                    os.write(fd, line)
                finally:
                    os.close(fd)
            except OSError:
                pass
        try:
            os.write(2, line)
        except OSError:
            pass
        os._exit(HARD_EXIT)


def _answer(
    conn: Connection,
    service: Service,
    send: Any,
    copies: dict[str, Any],
    shutdown: Shutdown,
    piece: int = REPORT_PIECE,
) -> None:
    """The child's main thread: one call at a time, in the order they came."""
    while True:
        try:
            call_id, method, args, kwargs = conn.recv()
        except (EOFError, OSError):
            return  # the parent went away
        if method == "stop":
            shutdown.arm("asked to stop")
            shutdown.step("stopping the service (the stop call)")
        try:
            value = _dispatch(service, copies, method, args, kwargs)
            ok = True
        except Exception as err:
            value, ok = _portable(err), False
            if not isinstance(err, AlmcError):
                log.exception("engine: %s failed", method)
            elif not call_id:
                log.warning("engine: %s failed: %s", method, err)
        if call_id:
            _reply(send, call_id, ok, value, piece)
        if method == "stop":
            return


def _reply(send: Any, call_id: int, ok: bool, value: Any, piece: int) -> None:
    """The answer to call ``call_id``: a long list in pieces (see the module); one that
    does not pickle is said failed (the parent drops the pieces it got)."""
    try:
        if ok and isinstance(value, list) and len(value) > piece:
            for i in range(0, len(value), piece):
                send(("items", call_id, value[i : i + piece]))
            value = []
        send(("reply", call_id, ok, value))
    except (OSError, ValueError):
        raise  # the parent went away
    except Exception as err:  # an answer that does not pickle
        send(("reply", call_id, False, _portable(err)))


def _dispatch(service: Service, copies: dict[str, Any], method: str, args: Any, kwargs: Any) -> Any:
    if method == "job":
        job_id, control = args
        job = copies.get(job_id)
        if job is not None and control in JOB_CONTROLS:
            getattr(job, control)()
        return None
    if method not in CALLS:
        raise AlmcError(f"The engine has no call {method!r}.", title="Cannot run that")
    if method == "config":
        return service.config
    if method == "start_copy":
        job = service.start_copy(*args, **kwargs)
        copies[job.job_id] = job
        return job.job_id
    value = getattr(service, method)(*args, **kwargs)
    if method == "check":
        return None  # a Future: the answer arrives as CheckReportReady or CheckFailed
    return value


def _forward(sink: QueueSink, send: Any, done: threading.Event, report_piece: int) -> None:
    """The child's events to the parent, in batches (one pickling per batch), a large
    check report in pieces (see the module)."""
    while True:
        first = sink.get(timeout=0.2)
        if first is None:
            if done.is_set():
                return
            continue
        time.sleep(BATCH_S)  # let a batch gather
        dropped = False  # a piece of the report being sent did not pickle
        for kind, payload in messages(
            latest_progress([first, *sink.drain(MAX_BATCH)]), report_piece
        ):
            if kind == "files" and dropped:
                continue
            if kind == "events" and dropped:  # its report: said failed, not sent short
                payload, dropped = [_unsent(payload[0]), *payload[1:]], False
            sent = _send_message(send, (kind, payload))
            if sent is None:
                return  # the parent went away
            dropped = dropped or (kind == "files" and not sent)


def messages(events: list[Event], report_piece: int) -> list[tuple[str, list[Any]]]:
    """``events`` as the messages that carry them, in order: batches of events, and
    each check report of more than ``report_piece`` files as its pieces, then itself."""
    out: list[tuple[str, list[Any]]] = []
    batch: list[Any] = []
    for event in events:
        if isinstance(event, CheckReportReady):
            event = without_details(event)
        if isinstance(event, CheckReportReady) and len(event.report.files) > report_piece:
            if batch:
                out.append(("events", batch))
                batch = []
            pieces, rest = split_report(event, report_piece)
            out += [("files", list(piece)) for piece in pieces]
            out.append(("events", [rest]))
        else:
            batch.append(event)
    if batch:
        out.append(("events", batch))
    return out


NO_DETAILS: Any = MappingProxyType({})  # one object: pickled once per message


def without_details(event: CheckReportReady) -> CheckReportReady:
    """``event`` with no ``details`` in its files (see the module)."""
    from dataclasses import replace

    if not any(f.details for f in event.report.files):
        return event
    files = tuple(replace(f, details=NO_DETAILS) if f.details else f for f in event.report.files)
    return replace(event, report=replace(event.report, files=files))


def split_report(
    event: CheckReportReady, size: int
) -> tuple[list[tuple[FileCheck, ...]], CheckReportReady]:
    """The report's files in pieces of ``size``, and the event without them."""
    from dataclasses import replace

    files = event.report.files
    pieces = [files[i : i + size] for i in range(0, len(files), size)]
    return pieces, replace(event, report=replace(event.report, files=()))


def join_report(event: CheckReportReady, files: Sequence[FileCheck]) -> CheckReportReady:
    """The event :func:`split_report` left, with its files back (in order)."""
    from dataclasses import replace

    return replace(event, report=replace(event.report, files=(*files, *event.report.files)))


def _send_message(send: Any, message: tuple[str, list[Any]]) -> bool | None:
    """Send one message: True when sent, None when the parent went away, False when a
    report's piece did not pickle. One event of a batch that does not pickle is logged
    and the others still go."""
    try:
        send(message)
        return True
    except (OSError, ValueError):
        return None
    except Exception:
        if message[0] != "events":
            log.exception("engine: a check report's files do not pickle")
            return False
    for event in message[1]:
        try:
            send(("events", [event]))
        except (OSError, ValueError):
            return None
        except Exception:
            log.exception("engine: a %s does not pickle", type(event).__name__)
    return True


def _unsent(event: Event) -> Event:
    """What the parent is told instead of a check report that could not be sent."""
    if not isinstance(event, CheckReportReady):
        return event
    return CheckFailed(
        paths=event.paths,
        title="The check's report could not be sent to the window",
        detail="Part of it could not be passed between almc-assistant's processes.",
        next_step="Check these files again; if this repeats, send the log folder "
        f"({ENGINE_LOG}) to the facility staff.",
    )


def latest_progress(events: list[Event]) -> list[Event]:
    """Only the last copy-progress snapshot of each job in ``events`` (where it stood),
    the rest in order: the GUI shows the latest, and each event costs it unpickling."""
    from almc_assistant.core.transfer.events import JobProgressed

    last: dict[str, int] = {}
    for i, event in enumerate(events):
        if isinstance(event, JobProgressed):
            last[event.snapshot.job_id] = i
    return [
        e
        for i, e in enumerate(events)
        if not isinstance(e, JobProgressed) or last[e.snapshot.job_id] == i
    ]


ErrorState = tuple[str, str, tuple[Any, ...], dict[str, Any]]


def _portable(err: BaseException) -> ErrorState:
    """``err`` as its class's name, its ``args`` and its attributes (an ``AlmcError``
    subclass's own ``__init__`` may take other arguments: it is not called again)."""
    kind = type(err)
    state = dict(getattr(err, "__dict__", {}))
    try:
        pickle.dumps((err.args, state))
    except Exception:
        detail = getattr(err, "detail", str(err))
        return ("builtins", "RuntimeError", (f"{kind.__name__}: {detail}",), {})
    return (kind.__module__, kind.__qualname__, tuple(err.args), state)


def revive(state: ErrorState) -> BaseException:
    """The exception :func:`_portable` described, of its own class where it imports."""
    import importlib

    module, name, args, attributes = state
    try:
        kind = getattr(importlib.import_module(module), name)
        if not (isinstance(kind, type) and issubclass(kind, BaseException)):
            raise TypeError(name)
        err = kind.__new__(kind)
        err.args = args
        err.__dict__.update(attributes)
        return err
    except Exception:
        return AlmcError(f"{name}: {args[0] if args else ''}", title="The backup engine failed")


def _log_to_file(log_dir: Path) -> Path | None:
    """The child's log file (None when it cannot be written)."""
    from almc_assistant.core.privatefs import PrivateRotatingFileHandler, ensure_private_dir

    try:
        ensure_private_dir(log_dir)
        handler = PrivateRotatingFileHandler(
            log_dir / ENGINE_LOG, maxBytes=2_000_000, backupCount=3, encoding="utf-8"
        )
    except OSError:
        return None
    handler.setFormatter(
        logging.Formatter("%(asctime)s %(levelname)s %(threadName)s %(name)s: %(message)s")
    )
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    return log_dir / ENGINE_LOG
