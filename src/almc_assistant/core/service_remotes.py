"""The service's part for setting up remote destinations: save one, test one, sign in.

Thread contract: :meth:`Remotes.set_up`, :meth:`Remotes.test`, :meth:`Remotes.trust`
and :meth:`Remotes.sign_in` return a request id at once (the one given, or the next); a
service worker does the network work and publishes the answer: :class:`RemoteTested`
(and, for a sign-in, :class:`SignInOpened` first, with the page the front end opens in
the browser).
:meth:`Remotes.cancel_sign_in` may be called from any thread.

A sign-in waits up to :data:`SIGN_IN_TIMEOUT` for the browser: it runs on a thread of
its own (``almc-sign-in``), never one of the service's two workers, so status, checks
and tests go on meanwhile. One at a time: a new sign-in cancels the one waiting (its
tab was abandoned) and starts once that one has answered; :meth:`Remotes.stop` (the
service's stop) cancels the waiting one and joins its thread.

Each request starts its own private rclone helper on the user's rclone.conf and stops it
at the end (a few tenths of a second; a copy job has its own). Before the helper opens the
file, :func:`~almc_assistant.core.remote.vault.protect` encrypts it with a password the
OS keyring keeps, when there is a keyring; :class:`RemoteTested` says where the secrets
are (``store``). An SFTP server's key is read before anything of the user is sent
(:mod:`~almc_assistant.core.remote.hostkey`): unless it is the key already confirmed
for that server, the answer is a question (``RemoteTested`` whose result holds
``host_key``, nothing saved), and the front end asks again with the fingerprint the
person confirmed (``RemoteSetup.host_key``, or :meth:`Remotes.trust` for a remote set up
before: its key is pinned, then it is tested). Secrets never reach an event, a log line
or an error message: a :class:`RemoteSetup`'s ``repr`` leaves the secret out, and every
message is scrubbed.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from almc_assistant.core.errors import ConfigError, ServiceStopped
from almc_assistant.core.events import Event
from almc_assistant.core.remote import hostkey
from almc_assistant.core.remote.hostkey import HostKey, HostKeyCheck, KnownHosts
from almc_assistant.core.remote.rcd import RcDaemon
from almc_assistant.core.remote.setup import (
    ACCOUNT_ADVICE,
    GUIDANCE,
    NO_PROOF,
    SIGN_IN_BACKENDS,
    RemoteSetup,
    RemoteTestResult,
    check_remote,
    failed_result,
    key_to_pin,
    write_remote,
)
from almc_assistant.core.remote.signin import SignIn
from almc_assistant.core.remote.spec import BACKEND_LABELS, PrivateRcloneConfig, parse_remote
from almc_assistant.core.remote.vault import SecretStore, protect, store
from almc_assistant.core.service_runtime import Runtime
from almc_assistant.core.service_settings import LiveSettings

SIGN_IN_TIMEOUT = 600.0  # seconds the browser has to come back

__all__ = [
    "ACCOUNT_ADVICE",
    "BACKEND_LABELS",
    "GUIDANCE",
    "NO_PROOF",
    "SIGN_IN_BACKENDS",
    "HostKeyCheck",
    "RemoteSetup",
    "RemoteTestResult",
    "RemoteTested",
    "Remotes",
    "SecretStore",
    "SignInOpened",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class RemoteTested(Event):
    """The answer to ``set_up_remote``, ``test_remote`` and ``sign_in``."""

    request_id: int
    result: RemoteTestResult
    store: SecretStore | None = None  # where the secrets are (None: not known)


@dataclass(frozen=True, slots=True, kw_only=True)
class SignInOpened(Event):
    """A sign-in waits for the browser: open ``url``; the browser comes back to ``port``."""

    request_id: int
    destination: str
    url: str
    port: int


class Remotes:
    def __init__(self, rt: Runtime, settings: LiveSettings, config_dir: Path) -> None:
        self._rt = rt
        self._settings = settings
        self._config = PrivateRcloneConfig(config_dir)
        self._known = KnownHosts(config_dir)
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._sign_ins: dict[int, SignIn] = {}  # waiting for the browser, by request
        self._cancelled: set[int] = set()  # sign-ins cancelled, maybe before they waited
        self._latest = 0  # the newest sign-in: those before it are cancelled
        self._signing: threading.Thread | None = None  # the sign-in thread (one at a time)
        self._stopped = False

    def _request(self, given: int | None) -> int:
        """The request's id: ``given`` (the GUI's engine process picks its own), or the next."""
        return next(self._ids) if given is None else given

    def _answer(self, request: int, result: RemoteTestResult) -> None:
        self._rt.sink.publish(
            RemoteTested(request_id=request, result=result, store=store(self._config.path))
        )

    def _with_daemon(
        self,
        request: int,
        spec: str,
        secret: str,
        work: Callable[[RcDaemon], RemoteTestResult],
        *,
        before: Callable[[], RemoteTestResult | None] = lambda: None,
    ) -> int:
        """Run ``before()`` (what needs no rclone: the fields' check, the browser, the
        server's key; a result it returns is the answer), then ``work`` with a private
        rclone helper, in a worker; answer ``RemoteTested``."""
        self._rt.submit("test remote", self._runner(request, spec, secret, work, before))
        return request

    def _runner(
        self,
        request: int,
        spec: str,
        secret: str,
        work: Callable[[RcDaemon], RemoteTestResult],
        before: Callable[[], RemoteTestResult | None],
    ) -> Callable[[], None]:
        """``before()`` (a result it returns is the answer), then ``work`` with a private
        rclone helper; every outcome is answered as ``RemoteTested`` (nothing raised)."""

        def run() -> None:
            from almc_assistant.core.remote.rclonebin import rclone_binary

            try:
                early = before()
                if early is not None:
                    self._answer(request, early)
                    return
                self._config.ensure()
                protect(self._config.path, rclone_binary())
                daemon = RcDaemon(self._config.path).start()
                try:
                    result = work(daemon)
                finally:
                    daemon.stop()
                    self._config.check()
            except BaseException as exc:  # every failure is an answer naming the remote
                result = failed_result(spec, exc, secret)
            self._answer(request, result)

        return run

    def set_up(self, setup: RemoteSetup, request_id: int | None = None) -> int:
        """Save ``setup`` in the user's rclone.conf, then test it (``RemoteTested``).
        SFTP: only once its server's key is the one pinned or confirmed (``host_key``);
        otherwise the answer asks the person, and nothing is saved or sent."""
        request = self._request(request_id)
        key: list[HostKey] = []

        def before() -> RemoteTestResult | None:
            setup.check()
            if setup.backend != "sftp":
                return None
            found, question = key_to_pin(
                setup.spec, setup.host.strip(), setup.port_number, setup.host_key, self._known
            )
            key.append(found)
            return question

        def work(daemon: RcDaemon) -> RemoteTestResult:
            extra = None
            if key:
                self._known.pin(key[0], setup.name)
                extra = self._known.parameters(key[0])
            write_remote(daemon, setup, extra)
            return check_remote(daemon, setup.spec)

        return self._with_daemon(request, setup.spec, setup.secret, work, before=before)

    def test(self, spec: str, request_id: int | None = None) -> int:
        """Test remote destination ``spec`` as a copy would open it (``RemoteTested``).
        An SFTP remote whose server key nobody confirmed (set up before keys were
        checked) answers with the key to confirm, unless that very key is pinned for
        its server already (then it is applied and the remote tested)."""
        request = self._request(request_id)

        def work(daemon: RcDaemon) -> RemoteTestResult:
            return self._pinned_then(daemon, spec, "", only_unpinned=True)

        return self._with_daemon(request, spec, "", work)

    def trust(self, spec: str, fingerprint: str, request_id: int | None = None) -> int:
        """Pin the key of SFTP remote ``spec``'s server if its fingerprint is
        ``fingerprint`` (the one the person confirmed), then test it (``RemoteTested``).
        Re-confirming after a change that IT expected goes here too."""
        request = self._request(request_id)

        def work(daemon: RcDaemon) -> RemoteTestResult:
            if not fingerprint.strip():
                raise ConfigError(
                    f"No fingerprint was given to trust for {spec}.",
                    next_step="Test the destination to see its server's fingerprint.",
                )
            return self._pinned_then(daemon, spec, fingerprint, only_unpinned=False)

        return self._with_daemon(request, spec, "", work)

    def _pinned_then(
        self, daemon: RcDaemon, spec: str, confirmed: str, *, only_unpinned: bool
    ) -> RemoteTestResult:
        name = parse_remote(spec).name
        config = {k: str(v) for k, v in daemon.call("config/get", name=name).items()}
        if not config.get("type"):
            return check_remote(daemon, spec)  # "Unknown remote", named
        if config.get("type") != "sftp":
            if confirmed:
                raise ConfigError(
                    f"{spec} is not an SFTP remote: it has no server key to trust.",
                    next_step="Test it instead.",
                )
            return check_remote(daemon, spec)
        if only_unpinned and hostkey.is_pinned(config):
            return check_remote(daemon, spec)  # rclone checks it; a change is a hard stop
        host, port = config.get("host", ""), hostkey.port_of(config)
        key, question = key_to_pin(spec, host, port, confirmed, self._known)
        if question is not None:
            return question
        self._known.pin(key, name)
        daemon.call(
            "config/update",
            name=name,
            parameters=self._known.parameters(key),
            opt={"nonInteractive": True},
        )
        return check_remote(daemon, spec)

    def sign_in(
        self, backend: str, name: str, folder: str = "", request_id: int | None = None
    ) -> int:
        """Sign in to ``backend`` (Drive, OneDrive) through the browser as remote
        ``name``: ``SignInOpened`` with the page to open, then ``RemoteTested``."""
        from almc_assistant.core.remote.signin import (
            exchange_code,
            own_drive,
            start_sign_in,
            store_token,
        )

        request = self._request(request_id)
        spec = f"{name}:{folder}"
        client_id, client_secret = self._settings.config.sign_in_client(backend)

        token: list[str] = []
        drive: list[tuple[str, str]] = []

        def browser() -> None:  # needs no rclone: the port, the browser, the provider
            sign_in = start_sign_in(backend, client_id, client_secret)
            with self._lock:
                self._sign_ins[request] = sign_in
                if self._stopped or request != self._latest or request in self._cancelled:
                    sign_in.cancel()  # cancelled before it began to wait
            try:
                self._rt.sink.publish(
                    SignInOpened(
                        request_id=request,
                        destination=spec,
                        url=sign_in.provider_url,
                        port=sign_in.port,
                    )
                )
                code = sign_in.wait_code(SIGN_IN_TIMEOUT)
            finally:
                sign_in.cancel()  # the port closes
                with self._lock:
                    self._sign_ins.pop(request, None)
                    self._cancelled.discard(request)
            token.append(exchange_code(sign_in, code))
            if backend == "onedrive":  # rclone needs the account's drive: ask Graph
                drive.append(own_drive(sign_in.provider, token[0]))

        def work(daemon: RcDaemon) -> RemoteTestResult:
            found = drive[0] if drive else None
            store_token(daemon, name, backend, client_id, token[0], client_secret, drive=found)
            return check_remote(daemon, spec)

        run = self._runner(request, spec, client_secret, work, before=browser)
        self._start_sign_in(request, spec, run)
        return request

    def _start_sign_in(self, request: int, spec: str, run: Callable[[], None]) -> None:
        """Run sign-in ``request`` on its own thread, after the one before it (cancelled);
        a service run inline (the command line, tests) runs it here."""
        if self._rt.inline:
            with self._lock:
                self._latest = request
            run()
            return
        with self._lock:
            stopped = self._stopped
            if not stopped:
                waiting = self._queue_sign_in(request, run)
        if stopped:
            why = ServiceStopped("almc-assistant is shutting down.", next_step="Start it again.")
            self._answer(request, failed_result(spec, why, ""))
            return
        for sign_in in waiting:
            sign_in.cancel()

    def _queue_sign_in(self, request: int, run: Callable[[], None]) -> list[SignIn]:
        """(Under the lock.) Start ``request``'s thread; the sign-ins now to cancel."""
        before = self._signing
        self._latest = request  # one at a time: the one waiting is cancelled
        waiting = list(self._sign_ins.values())

        def serve() -> None:
            if before is not None:
                before.join()  # it was cancelled: its answer comes first
            run()

        self._signing = threading.Thread(target=serve, name="almc-sign-in", daemon=True)
        self._signing.start()
        return waiting

    def cancel_sign_in(self, request: int) -> None:
        with self._lock:
            self._cancelled.add(request)
            sign_in = self._sign_ins.get(request)
        if sign_in is not None:
            sign_in.cancel()

    def stop(self, timeout: float) -> None:
        """Cancel the sign-in waiting for the browser (it answers ``RemoteTested``:
        cancelled) and wait for its thread; no new sign-in starts afterwards."""
        with self._lock:
            self._stopped = True
            waiting = list(self._sign_ins.values())
            thread, self._signing = self._signing, None
        for sign_in in waiting:
            sign_in.cancel()
        if thread is not None:
            thread.join(timeout)
