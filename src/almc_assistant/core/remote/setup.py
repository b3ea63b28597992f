"""Setting up a remote destination from what a person typed, and testing it.

Thread contract: :class:`RemoteSetup` is a plain frozen value (the GUI builds it and hands
it to the service). :func:`write_remote` and :func:`check_remote` block on the network:
the service runs them in a worker, never on the GUI thread.

What a person gives, per kind (rclone's backend name in brackets): SFTP (``sftp``) a
host, port, user and a key file or a password; SMB (``smb``) host, user, password and the
share; S3 (``s3``) endpoint, access key and secret key, bucket; WebDAV (``webdav``) the
URL, user and password; Google Drive (``drive``) and OneDrive (``onedrive``) nothing but a
name: they sign in through the browser (:mod:`signin`).

Secrets: the password or secret key goes straight into the user's private rclone.conf
(obscured by rclone, and the whole file encrypted when an OS keyring keeps its password:
:mod:`vault`); our TOML names the destination by ``name:folder`` only. The secret is never
in a ``repr`` (logs, tracebacks) and is cut out of every error message we build.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from almc_assistant.core.destination_backend import PROOF_WORDS, ProofKind
from almc_assistant.core.errors import AlmcError, ConfigError
from almc_assistant.core.remote import hostkey
from almc_assistant.core.remote.hostkey import HostKeyCheck, KnownHosts
from almc_assistant.core.remote.rcd import RcDaemon, RcloneCallError
from almc_assistant.core.remote.spec import BACKEND_LABELS, parse_remote

log = logging.getLogger(__name__)

SIGN_IN_BACKENDS = frozenset({"drive", "onedrive"})

# What each kind means for the safety of the data (the facility's policy in plain words),
# shown beside the form in Settings.
# What each connection proves and how; what a kind of storage asks of the user (keep
# another copy, ...) is the kind's guidance (``destinations.KIND_INFO``), shown beside it:
# said once, not again here.
GUIDANCE: dict[str, str] = {
    "sftp": "Copies here are proven by a hash the server computes over the stored file.",
    "smb": "A network share: only institutional storage that is backed up counts on its "
    "own. SMB servers compute no hash, so every copy is downloaded back and compared.",
    "s3": "A personal S3 bucket you pay for is one independent copy. Files up to 8 MiB are "
    "proven by the MD5 the server computes; larger ones are downloaded back and compared.",
    "webdav": "WebDAV servers compute no hash: every copy is downloaded back and compared.",
    "drive": "Copies are proven by the SHA-256 Google computes.",
    "onedrive": "Copies are proven by the QuickXorHash Microsoft computes.",
}
# A sign-in account's advice, unless the user says it is university-managed (then the
# Settings window says so in bold instead).
ACCOUNT_ADVICE: dict[str, str] = {
    "drive": "A university Google account is deleted when you leave, with your files: a "
    "paid personal account is the facility's advice.",
    "onedrive": "A university OneDrive is deleted when you leave, with your files: a paid "
    "personal account is the facility's advice.",
}
NO_PROOF = (
    "A destination that cannot prove its copies never makes your data safe: "
    "almc-assistant only counts a copy it has proven."
)


@dataclass(frozen=True, slots=True)
class RemoteSetup:
    """One remote destination as typed in Settings (plain data: it crosses to the
    service, perhaps to another process). ``secret`` is the password (SFTP, SMB, WebDAV)
    or the secret key (S3); it never appears in ``repr``."""

    backend: str  # "sftp", "smb", "s3", "webdav", "drive", "onedrive"
    name: str  # the remote's name in the private rclone.conf
    folder: str = ""  # below the remote: "lab/me"; SMB "share/folder"; S3 "bucket/folder"
    host: str = ""
    port: str = ""
    user: str = ""
    key_file: str = ""  # SFTP: a private key file instead of a password
    url: str = ""  # WebDAV URL, or S3 endpoint
    access_key: str = ""  # S3 access key id
    secret: str = field(default="", repr=False)
    host_key: str = ""  # SFTP: the server key's fingerprint the person confirmed

    @property
    def spec(self) -> str:
        """What our TOML and the copy engine name it by: ``name:folder``."""
        return f"{self.name}:{self.folder.strip()}"

    @property
    def label(self) -> str:
        return f"{self.spec} ({BACKEND_LABELS.get(self.backend, self.backend)})"

    @property
    def port_number(self) -> int:
        """The SFTP port (22 when none was given); :meth:`check` refuses a bad one."""
        text = self.port.strip()
        return int(text) if text.isdigit() else 22

    def check(self) -> None:
        """A clear :class:`ConfigError` naming the missing field, before any network."""
        if self.backend not in BACKEND_LABELS:
            raise ConfigError(f"{self.backend!r} is not a kind of remote destination.")
        parse_remote(self.spec)
        needed = {
            "sftp": (("host", "the server's name"), ("user", "your user name")),
            "smb": (("host", "the server's name"), ("user", "your user name")),
            "s3": (("access_key", "the access key"), ("secret", "the secret key")),
            "webdav": (("url", "the server's address (https://…)"),),
        }.get(self.backend, ())
        for attr, words in needed:
            if not getattr(self, attr).strip():
                raise ConfigError(
                    f"{self.label}: {words} is missing.",
                    next_step=f"Fill in {words}, then test the connection again.",
                )
        port = self.port.strip()
        if port and not (port.isdigit() and 0 < int(port) < 65536):
            raise ConfigError(
                f"{self.label}: the port {port!r} is not a number from 1 to 65535.",
                next_step="Leave the port empty for the usual one, or write its number.",
            )
        if self.backend == "sftp" and not (self.key_file or self.secret):
            raise ConfigError(
                f"{self.label}: give a key file or a password.",
                next_step="Choose your SSH key file (or type the password), then test again.",
            )
        if self.backend in ("smb", "s3") and not self.folder.strip("/"):
            what = "share" if self.backend == "smb" else "bucket"
            raise ConfigError(
                f"{self.label}: the folder must start with the {what}.",
                next_step=f"Write the {what}, then the folder in it (for example {what}/lab/me).",
            )

    def parameters(self) -> dict[str, str]:
        """rclone's parameters for this remote (the secret obscured by rclone itself)."""
        p: dict[str, str] = {}
        if self.backend in ("sftp", "smb"):
            p["host"] = self.host.strip()
            p["user"] = self.user.strip()
            if self.port.strip():
                p["port"] = self.port.strip()
            if self.secret:
                p["pass"] = self.secret
            if self.backend == "sftp" and self.key_file:
                p["key_file"] = self.key_file
        elif self.backend == "s3":
            p["provider"] = "Other"
            if self.url.strip():
                p["endpoint"] = self.url.strip()
            p["access_key_id"] = self.access_key.strip()
            p["secret_access_key"] = self.secret
        elif self.backend == "webdav":
            p["url"] = self.url.strip()
            p["vendor"] = "other"
            if self.user.strip():
                p["user"] = self.user.strip()
            if self.secret:
                p["pass"] = self.secret
        return p


@dataclass(frozen=True, slots=True)
class RemoteTestResult:
    """What "Test connection" found, in words for the person (plain data)."""

    destination: str  # ``name:folder``
    ok: bool
    title: str
    detail: str
    next_step: str = ""
    proof: str = ""  # how copies there are proven ("" when it could not be reached)
    host_key: HostKeyCheck | None = None  # an SFTP server key to confirm (new or changed)


def scrub(text: str, *secrets: str) -> str:
    """``text`` without any of ``secrets`` (an error message that echoed one)."""
    for s in secrets:
        if s:
            text = text.replace(s, "•••")
    return text


def write_remote(daemon: RcDaemon, setup: RemoteSetup, extra: dict[str, str] | None = None) -> None:
    """Create (or replace) remote ``setup.name`` in the daemon's private rclone.conf,
    with ``extra`` parameters (an SFTP server's pinned key: :mod:`hostkey`).

    Drive and OneDrive are written by their sign-in (:mod:`signin`), never here."""
    setup.check()
    if setup.backend in SIGN_IN_BACKENDS:
        raise ConfigError(
            f"{setup.label} is set up by signing in through the browser.",
            next_step="Press Sign in.",
        )
    try:
        daemon.call(
            "config/create",
            name=setup.name,
            type=setup.backend,
            parameters={**setup.parameters(), **(extra or {})},
            opt={"nonInteractive": True, "obscure": True},
        )
    except RcloneCallError as exc:
        raise ConfigError(
            f"{setup.label} could not be saved: {scrub(exc.detail, setup.secret)}",
            next_step="Check the fields, then test again.",
        ) from None  # the call's own text may hold the parameters


def check_remote(daemon: RcDaemon, spec: str) -> RemoteTestResult:
    """Open destination ``spec`` as a copy would (reach, write and prove a probe file)."""
    from almc_assistant.core.remote.rclone_backend import RcloneBackend

    try:
        backend = RcloneBackend(daemon, parse_remote(spec)).open()
    except hostkey.HostKeyChanged as err:
        return RemoteTestResult(
            spec, False, f"{err.title}: {spec}", err.detail, err.next_step, host_key=err.check
        )
    except AlmcError as err:
        return RemoteTestResult(
            spec,
            False,
            f"{spec} cannot be used",
            err.detail,
            err.next_step or "Check the fields, then test again.",
        )
    if backend.server_hash is not None:
        proof = PROOF_WORDS[backend.server_hash.kind]
    else:
        proof = PROOF_WORDS[ProofKind.DOWNLOAD_BACK]
    detail = f"{backend.label} answered and a test file was written, proven and removed."
    if backend.probe_note:
        detail += f" {backend.probe_note}."
    return RemoteTestResult(
        spec,
        True,
        f"{spec} works",
        detail,
        "Press Add, then Save, to copy there.",
        proof=f"Copies there are proven by: {proof}.",
    )


def failed_result(spec: str, err: BaseException, *secrets: str) -> RemoteTestResult:
    """A failure (even an unexpected one) as a result naming the destination, scrubbed."""
    if isinstance(err, AlmcError):
        return RemoteTestResult(
            spec,
            False,
            f"{spec} cannot be used",
            scrub(err.detail, *secrets),
            err.next_step or "Check the fields, then test again.",
        )
    log.error("testing %s failed: %s", spec, type(err).__name__)
    return RemoteTestResult(
        spec,
        False,
        f"{spec} cannot be used",
        f"Testing {spec} failed unexpectedly ({type(err).__name__}).",
        "Try again; if it persists, send the log to staff.",
    )


def key_to_pin(
    spec: str, host: str, port: int, confirmed: str, known: KnownHosts
) -> tuple[hostkey.HostKey, RemoteTestResult | None]:
    """The SFTP server's key now, and ``None`` when it may be pinned: it is the key
    already pinned for that server, or the one the person confirmed (``confirmed``, a
    fingerprint). Otherwise the question to put to the person (first use, a changed
    key, or a key other than the one confirmed), as a result holding the key."""
    key = hostkey.fetch(host, port)
    pinned = known.pinned(host, port)
    if pinned is not None and (pinned.key_type, pinned.key) == (key.key_type, key.key):
        return key, None
    if confirmed and hostkey.same_fingerprint(confirmed, key.fingerprint):
        return key, None
    return key, confirm_result(hostkey.check_for(spec, key, pinned), confirmed)


def confirm_result(check: HostKeyCheck, confirmed: str = "") -> RemoteTestResult:
    """The server key as a question for the person (not a failure of the remote)."""
    key = f"{check.key_type} key {check.fingerprint}"
    if confirmed:
        return RemoteTestResult(
            check.destination,
            False,
            "Server key not the one confirmed",
            f"The server {check.address} shows the {key}, not {confirmed.strip()}. It may "
            "be an impostor: nothing was sent.",
            "Ask your facility or IT for the server's fingerprint before going on.",
            host_key=check,
        )
    if check.changed:
        return RemoteTestResult(
            check.destination,
            False,
            "Server key changed",
            f"The server {check.address} now shows the {key}; the key you confirmed "
            f"before is {check.pinned}. It may be an impostor: nothing was sent.",
            "Ask your facility or IT whether the server changed. Only if they expected "
            "it, trust the new key.",
            host_key=check,
        )
    return RemoteTestResult(
        check.destination,
        False,
        f"Confirm the identity of {check.address}",
        f"First connection to {check.address}: the server identifies itself with the "
        f"{check.key_type} key below. Nothing has been sent to it yet.",
        hostkey.COMPARE_NOTE,
        host_key=check,
    )
