"""SFTP host keys: fetched before any sign-in, confirmed by the person, pinned in a
known_hosts file of the app's own that rclone checks on every connection.

Thread contract: :func:`fetch` blocks on the network (a worker, never the GUI thread);
:class:`KnownHosts` touches one file in the user's 0700 config folder, written by one
writer at a time across processes (the tray's engine and a command-line run at once):
an OS lock on ``known_hosts.lock`` held while the file is read, changed and replaced
(written to a temporary name and renamed over it, so a reader never sees half of it).
The rest are pure functions.

rclone's sftp backend accepts any server unless ``known_hosts_file`` is set, so a remote
set up without one could send a user's data (and password) to an impostor. What a
careful SSH client does, done here:

- **First use** (trust on first use): the server's host key is read by a key exchange
  alone (asyncssh; the server proves it holds the key, nothing of the user is sent), its
  type and SHA-256 fingerprint (OpenSSH's ``SHA256:`` form) are shown, and the person
  confirms it against what the facility or IT publishes. Only then is the key written,
  as ``[host]:port TYPE KEY``, to ``known_hosts`` in the app's config folder, and the
  remote gets ``known_hosts_file`` (that file) and ``host_key_algorithms`` (the pinned
  key's own, so rclone never negotiates another key type the file does not hold).
- **Every later use**: rclone checks the server's key against the file. A changed key
  (``knownhosts: key mismatch``, or the server no longer offering the pinned key's type)
  is a hard stop: :func:`changed_error` names the destination, the pinned and the
  offered fingerprints and what to do; nothing is sent, nothing published.
- **A remote without a pinned key** (set up before this check, or by hand): refused
  until its key is confirmed (:func:`not_pinned_error`): Settings' Test shows the key
  to confirm, ``almc-assistant remote trust`` does it on the command line. It is never
  pinned silently.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import logging
import os
import threading
from dataclasses import dataclass
from pathlib import Path

from almc_assistant.core import filelock
from almc_assistant.core.atomicfile import write_atomically
from almc_assistant.core.destination_backend import Untrusted
from almc_assistant.core.privatefs import POSIX, check_private_files, ensure_private_dir
from almc_assistant.core.remote.faults import RemoteError

log = logging.getLogger(__name__)

KNOWN_HOSTS = "known_hosts"
LOCK = "known_hosts.lock"  # held by the one writer (any process) while it rewrites the file
LOCK_WAIT_S = 30.0  # a writer holds it for one small file; longer means a stuck process
_WRITING = threading.Lock()  # one writer of the file at a time in this process
FETCH_TIMEOUT = 20.0  # seconds for the connection and the key exchange
# The key types we ask for, best first (OpenSSH's order without certificates: a
# certificate cannot be pinned as a plain key).
KEY_ALGORITHMS = (
    "ssh-ed25519",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
    "rsa-sha2-512",
    "rsa-sha2-256",
)
# What rclone (Go's SSH client) must negotiate to see a key of each type.
_NEGOTIATE = {"ssh-rsa": "rsa-sha2-512 rsa-sha2-256"}
_TYPE_WORDS = {
    "ssh-ed25519": "ED25519",
    "ssh-rsa": "RSA",
    "ecdsa-sha2-nistp256": "ECDSA",
    "ecdsa-sha2-nistp384": "ECDSA",
    "ecdsa-sha2-nistp521": "ECDSA",
}
COMPARE_NOTE = (
    "Compare it with the fingerprint your facility or IT publishes for this server (ask "
    "them if you have none). Trust it only if they match: from then on, a server with "
    "another key is refused."
)


@dataclass(frozen=True, slots=True)
class HostKey:
    """One server's public host key: its type (``ssh-ed25519``) and the key, base64."""

    host: str
    port: int
    key_type: str
    key: str

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.key)

    @property
    def type_words(self) -> str:
        return _TYPE_WORDS.get(self.key_type, self.key_type)

    @property
    def algorithms(self) -> str:
        """rclone's ``host_key_algorithms`` for this key."""
        return _NEGOTIATE.get(self.key_type, self.key_type)

    @property
    def address(self) -> str:
        return host_pattern(self.host, self.port)


@dataclass(frozen=True, slots=True)
class HostKeyCheck:
    """A server key the person must confirm (plain data for the front ends).

    ``pinned`` is the fingerprint trusted before ("" at first use): when set, the key
    has changed and confirming it is a deliberate step (IT said it was expected)."""

    destination: str  # name:folder
    address: str  # host or [host]:port
    key_type: str  # ED25519, ECDSA, RSA
    fingerprint: str  # SHA256:...
    pinned: str = ""

    @property
    def changed(self) -> bool:
        return bool(self.pinned) and self.pinned != self.fingerprint


def check_for(destination: str, key: HostKey, pinned: HostKey | None) -> HostKeyCheck:
    return HostKeyCheck(
        destination,
        key.address,
        key.type_words,
        key.fingerprint,
        pinned.fingerprint if pinned is not None else "",
    )


def fingerprint(key_base64: str) -> str:
    """OpenSSH's ``SHA256:`` fingerprint of a base64 public key blob."""
    blob = base64.b64decode(key_base64)
    return "SHA256:" + base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")


def same_fingerprint(a: str, b: str) -> bool:
    """Whether two fingerprints as a person typed them are the same (``SHA256:`` may be
    left out; spaces and trailing ``=`` are ignored; base64 is case-sensitive)."""

    def norm(text: str) -> str:
        text = "".join(text.split()).rstrip("=")
        return text[7:] if text.upper().startswith("SHA256:") else text

    return bool(norm(a)) and norm(a) == norm(b)


def host_pattern(host: str, port: int) -> str:
    """How known_hosts names ``host:port`` (``host`` alone for port 22), as Go's
    ``knownhosts.Normalize`` does: the host as the remote names it (Go compares it as
    it is, so it is not lowercased; :func:`read_pinned` ignores case)."""
    host = host.strip()
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    return host if port == 22 else f"[{host}]:{port}"


def fetch(host: str, port: int, *, timeout: float = FETCH_TIMEOUT) -> HostKey:
    """The key ``host:port`` proves it holds, by a key exchange alone (no sign-in, no
    user name or password sent). :class:`RemoteError` naming the server otherwise."""
    import asyncio

    where = f"{host}:{port}"
    try:
        import asyncssh
    except ImportError as exc:  # a broken installation: say so, no traceback
        raise RemoteError(
            f"The identity of the server {where} cannot be read: the SSH library is "
            f"missing ({exc}).",
            title="almc-assistant is incomplete",
            next_step="Reinstall almc-assistant, or ask staff to.",
            final=True,
        ) from None

    async def ask() -> asyncssh.SSHKey | None:
        return await asyncssh.get_server_host_key(
            host,
            port,
            server_host_key_algs=list(KEY_ALGORITHMS),
            config=None,  # not the user's ~/.ssh/config: exactly this host and port
            options=asyncssh.SSHClientConnectionOptions(connect_timeout=timeout),
        )

    try:
        key = asyncio.run(asyncio.wait_for(ask(), timeout + 5))
    except (OSError, TimeoutError, asyncssh.Error, ValueError) as exc:
        raise RemoteError(
            f"Could not read the identity (host key) of the server {where}: "
            f"{type(exc).__name__}: {exc}".rstrip(": "),
            title="Server not reached",
            next_step="Check the server's name and port and the network, then try again.",
            final=True,
        ) from None
    if key is None:
        raise RemoteError(
            f"The server {where} did not show a host key.",
            title="Server not usable",
            next_step="Ask your facility or IT how to reach this server.",
            final=True,
        )
    blob = base64.b64encode(key.public_data).decode()
    key_type = key.get_algorithm()
    return HostKey(host.strip(), port, key_type, blob)


def port_of(config: dict[str, str]) -> int:
    try:
        return int(config.get("port") or 22)
    except ValueError:
        return 22


def is_pinned(config: dict[str, str]) -> bool:
    """Whether rclone checks this SFTP remote's server key: a known_hosts file, keys
    pinned in the remote itself (rclone's ``host_keys``), or an external ``ssh``
    program (which checks its own known_hosts)."""
    known = config.get("known_hosts_file", "").strip()
    return bool((known and known.lower() != "none") or config.get("host_keys") or config.get("ssh"))


def known_hosts_path(config: dict[str, str]) -> Path | None:
    known = config.get("known_hosts_file", "").strip()
    if not known or known.lower() == "none":
        return None
    return Path(os.path.expandvars(known)).expanduser()


def read_pinned(path: Path, host: str, port: int) -> HostKey | None:
    """The first key ``path`` holds for ``host:port`` (None: none, or no such file)."""
    pattern = host_pattern(host, port).lower()
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    for line in text.splitlines():
        fields = line.split()
        if len(fields) < 3 or fields[0].startswith(("#", "@")):
            continue
        if pattern in fields[0].lower().split(","):
            try:
                base64.b64decode(fields[2], validate=True)
            except (binascii.Error, ValueError):
                continue
            return HostKey(host, port, fields[1], fields[2])
    return None


def pinned_for(config: dict[str, str]) -> HostKey | None:
    """The key pinned for an SFTP remote's server, when its known_hosts file holds one."""
    path = known_hosts_path(config)
    if path is None:
        return None
    return read_pinned(path, config.get("host", ""), port_of(config))


class KnownHosts:
    """``known_hosts`` in the user's config folder: the keys confirmed in this app, one
    line per server, 0600, the user's own, never a link (as ``rclone.conf`` beside it)."""

    def __init__(self, config_dir: Path) -> None:
        self.folder = config_dir
        self.path = config_dir / KNOWN_HOSTS

    def pinned(self, host: str, port: int) -> HostKey | None:
        return read_pinned(self.path, host, port)

    def pin(self, key: HostKey, remote: str) -> None:
        """Trust ``key`` for its server from now on (replacing any other key pinned for
        that host and port: re-confirming after a change)."""
        ensure_private_dir(self.folder)
        try:
            with _WRITING, filelock.holding(self.folder / LOCK, wait_s=LOCK_WAIT_S):
                self._pin(key, remote)  # read, change and replace under the lock
        except filelock.LockTimeout:
            raise RemoteError(
                f"The server key of {remote} could not be saved in {self.path}: another "
                f"almc-assistant (the tray or a command) kept it locked for {LOCK_WAIT_S:g} s.",
                title="Server key not saved",
                next_step="Close the other almc-assistant windows or commands, then try again.",
                final=True,
            ) from None
        except (filelock.NotALockFile, PermissionError) as exc:
            raise RemoteError(
                f"The server key of {remote} could not be saved: {self.folder / LOCK} "
                f"could not be used as its lock ({exc.strerror or exc}).",
                title="Server key not saved",
                next_step=f"Remove {self.folder / LOCK} (it holds nothing), then try again.",
                final=True,
            ) from None
        log.info(
            "pinned %s key %s for %s (%s)", key.type_words, key.fingerprint, key.address, remote
        )

    def _pin(self, key: HostKey, remote: str) -> None:
        if POSIX:
            check_private_files(self.folder, (KNOWN_HOSTS,), create=KNOWN_HOSTS)
        pattern = key.address
        try:
            old = self.path.read_text(encoding="utf-8", errors="replace").splitlines()
        except FileNotFoundError:
            old = []
        kept = [
            line
            for line in old
            if not (line.split() and pattern.lower() in line.split()[0].lower().split(","))
        ]
        safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in remote)
        comment = f"almc-assistant:{safe}"
        kept.append(f"{pattern} {key.key_type} {key.key} {comment}")
        try:
            write_atomically(self.path, ("\n".join(kept) + "\n").encode("utf-8"))
        except OSError as exc:
            raise RemoteError(
                f"The server key of {remote} could not be saved in {self.path}: {exc}.",
                title="Server key not saved",
                next_step="Check that your settings folder can be written, then try again.",
                final=True,
            ) from None
        if POSIX:
            check_private_files(self.folder, (KNOWN_HOSTS,))

    def parameters(self, key: HostKey) -> dict[str, str]:
        """The remote's rclone parameters that make rclone check ``key``."""
        return {"known_hosts_file": str(self.path), "host_key_algorithms": key.algorithms}


class ServerNotTrusted(RemoteError, Untrusted):
    """A hard stop about the server's identity (see :class:`Untrusted`)."""

    def __init__(self, detail: str, *, title: str, next_step: str = "") -> None:
        super().__init__(detail, title=title, next_step=next_step, final=True)


def not_pinned_error(label: str, spec: str) -> RemoteError:
    return ServerNotTrusted(
        f"{label}: the server's identity (host key) has not been confirmed yet, so "
        "nothing is sent there (this remote was set up before host keys were checked).",
        title="Server key not confirmed",
        next_step="In Settings, Destinations, select it and press Test, compare the "
        "fingerprint with what your facility or IT publishes and trust it; or run "
        f"'almc-assistant remote trust {spec}'.",
    )


class HostKeyChanged(ServerNotTrusted):
    """The server showed another key than the one pinned; ``check`` holds both (None
    when the offered key could not be read again)."""

    def __init__(
        self, detail: str, *, next_step: str = "", check: HostKeyCheck | None = None
    ) -> None:
        super().__init__(detail, title="Server key changed", next_step=next_step)
        self.check = check


def changed_error(label: str, spec: str, config: dict[str, str]) -> HostKeyChanged:
    """The hard stop when the server shows another key than the one pinned: both
    fingerprints (the offered one read again now, by a key exchange alone)."""
    host, port = config.get("host", ""), port_of(config)
    pinned = pinned_for(config)
    old = f"{pinned.type_words} {pinned.fingerprint}" if pinned else "(none for this server)"
    check: HostKeyCheck | None = None
    try:
        now = fetch(host, port)
        new = f"{now.type_words} {now.fingerprint}"
        check = check_for(spec, now, pinned)
    except RemoteError as exc:
        new = f"(could not be read: {exc.detail})"
    return HostKeyChanged(
        f"{label}: the server's identity (host key) has CHANGED since you confirmed it. "
        f"Pinned: {old}. Offered now: {new}. It may be an impostor: nothing was sent "
        "or published there.",
        next_step="Do not use this destination until your facility or IT confirms the "
        "change. If they expected it (a new server), confirm the new key in Settings "
        "(Destinations, Test) or with "
        f"'almc-assistant remote trust {spec}'.",
        check=check,
    )


def unreadable_error(label: str, config: dict[str, str], message: str) -> RemoteError:
    return ServerNotTrusted(
        f"{label}: the file of trusted server keys ({config.get('known_hosts_file', '')}) "
        f"cannot be read ({message.strip()[:200]}), so nothing is sent there.",
        title="Server key not confirmed",
        next_step="Confirm the server's key again in Settings (Destinations, Test) or "
        "with 'almc-assistant remote trust'.",
    )
