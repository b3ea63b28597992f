"""An rclone remote as a destination backend (implements ``DestinationBackend``).

Thread contract: one :class:`RcloneBackend` per remote destination per job, shared by the
job's workers; every method may be called from any worker (the daemon serialises nothing
but its own state; the manifest buffer is guarded by a lock). Uploads belong to one worker.

Publish without replacing: rclone has no "rename unless the target exists" on most
backends. We upload under a hidden partial name, prove it, then ``stat`` the final name
and, only if nothing is there, ``operations/movefile`` the partial onto it; a final name
already taken raises :class:`NameTaken` and nothing is replaced. What remains, per backend:

- sftp: rclone renames with OpenSSH's ``posix-rename`` (which replaces); a file created at
  the final name by someone else between our ``stat`` and the rename (milliseconds) would
  be replaced. Only another writer to the same name in the same instant can hit this.
- s3, drive, onedrive, webdav, smb: the move is a server-side copy-then-delete or a
  rename that replaces; the same window between ``stat`` and move remains. On S3 the
  moved object's ETag is checked again after the move (a cheap HEAD).
After the move the final name is checked to hold the proven size (not on SFTP, where the
move is a rename of the proven file on the server's own disk).
"""

from __future__ import annotations

import builtins
import contextlib
import logging
import re
import secrets
import tempfile
import threading
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from almc_assistant.core.destination_backend import (
    Entry,
    NameTaken,
    ProofKind,
    SourceDigests,
    StoredProof,
    Upload,
)
from almc_assistant.core.remote import hostkey
from almc_assistant.core.remote.bulkhash import BULK_MAX_SIZE, BulkHasher, bulk_command, works
from almc_assistant.core.remote.faults import RemoteError, describe, host_key_fault
from almc_assistant.core.remote.probe import choose_server_hash
from almc_assistant.core.remote.proof import ServerHash, override_options
from almc_assistant.core.remote.rcd import RcDaemon, RcloneCallError
from almc_assistant.core.remote.spec import BACKEND_LABELS, RemoteSpec
from almc_assistant.core.remote.upload import PARTIAL_SUFFIX, RcUpload
from almc_assistant.core.transfer.manifest import format_line, parse_line, unsafe_path
from almc_assistant.core.transfer.naming import MANIFEST_NAME, RECEIPTS_DIR

log = logging.getLogger(__name__)

STALE_PARTIAL_AGE = timedelta(days=1)
PART_SUFFIX = ".manifest.b3sum"  # one job's manifest lines, in the receipts folder
PART_GRACE = timedelta(hours=1)  # parts younger than this are never removed
MERGE_ROUNDS = 4


class RcloneBackend:
    """Destination root ``spec`` reached through the daemon."""

    def __init__(self, daemon: RcDaemon, spec: RemoteSpec, *, rules: str = "") -> None:
        """``rules``: the backend type whose proof rules apply (default: the remote's
        own); tests run Drive's and OneDrive's rules against a local stand-in with it."""
        self.daemon = daemon
        self.spec = spec
        self.root = str(spec)
        try:
            config: dict[str, Any] = daemon.call("config/get", name=spec.name)
        except RcloneCallError as exc:
            raise describe(str(spec), "open the destination", exc.detail) from exc
        if not config.get("type"):
            raise RemoteError(
                f"No remote named {spec.name!r} is set up (destination {spec}).",
                title="Unknown remote",
                next_step="Add it in Settings or with the remote set-up, then try again.",
                final=True,
            )
        self.type = rules or str(config["type"])
        self.config = {k: str(v) for k, v in config.items()}
        self.sftp = str(config["type"]) == "sftp"
        pinned = hostkey.pinned_for(self.config) if self.sftp else None
        self.pinned = pinned.fingerprint if pinned is not None else ""  # its server's key
        self._key_fault: RemoteError | None = None
        self.label = f"{spec} ({BACKEND_LABELS.get(self.type, self.type)})"
        self._opts = override_options(self.type, self.config)
        self._name = connection_name(spec.name, self._opts)
        self._lock = threading.Lock()
        self._pending: list[tuple[str, str]] = []
        self._cleaned: set[str] = set()
        self._merge_hook: Callable[[], None] | None = None  # test seam: between read and write
        self.server_hash: ServerHash | None = None
        self.probe_note = ""
        self.bulk: BulkHasher | None = None  # many files per server command (SFTP)
        self.probes = 0  # reachable() calls (tests count them)

    def open(self) -> RcloneBackend:
        """Check the destination answers and may be written; find its proof (a probe).
        An SFTP server whose key nobody confirmed is not even connected to."""
        if self.sftp and not hostkey.is_pinned(self.config):
            raise hostkey.not_pinned_error(self.label, self.root)
        try:
            self.list("")
        except RemoteError as exc:
            if "is a file not a directory" in exc.detail:
                # S3 takes a refused HEAD on the root for a file: ask the remote's top
                self.call("sign in", "operations/list", fs=f"{self._name}:", remote="")
                raise
            if "directory not found" not in exc.detail:  # a new destination is fine
                raise
        self.server_hash, self.probe_note = choose_server_hash(self, self._try_bulk)
        return self

    def _try_bulk(self, h: ServerHash, probe: str, expected: str) -> None:
        """Use bulk hashing (:mod:`bulkhash`) if the server gives the probe's hash that way."""
        shell = self.config.get("shell_type", "").strip().lower()
        if self.type != "sftp" or not h.option or shell in ("none", "powershell", "cmd"):
            return
        command = bulk_command(self.config.get(h.option) or h.command)
        if command is None:
            return
        name = connection_name(self.spec.name, {**self._opts, h.option: command})
        bulk = BulkHasher(
            self,
            h.algorithm,
            RemoteSpec(name, self.spec.path).fs(""),
            lambda rel: self.server_digest(rel, h.algorithm),
        )
        if works(bulk, probe, expected):
            self.bulk = bulk
        else:
            log.info("%s: bulk hashing disagreed; files are hashed one by one", self.label)

    def reachable(self) -> RemoteError | None:
        """``None`` if the remote answers a stat now, else why not (a dead server)."""
        self.probes += 1
        try:
            self.stat(MANIFEST_NAME)
        except RemoteError as exc:
            return exc
        return None

    def free_space(self) -> int | None:
        """Bytes free at the destination, when the backend can tell (SFTP, SMB, WebDAV)."""
        try:
            about = self.daemon.call("operations/about", fs=self.fs(""))
        except (RcloneCallError, OSError):
            return None
        free = about.get("free")
        return int(free) if isinstance(free, int | float) else None

    # ------------------------------------------------------------------ helpers
    def fs(self, relpath: str) -> str:
        return RemoteSpec(self._name, self.spec.path).fs(relpath)

    def call(self, action: str, path: str, **params: Any) -> dict[str, Any]:
        try:
            return self.daemon.call(path, **params)
        except RcloneCallError as exc:
            raise self.fault(action, exc.detail) from exc
        except OSError as exc:
            raise describe(self.label, action, f"the rclone helper is gone ({exc})") from exc

    def fault(self, action: str, message: str) -> RemoteError:
        """rclone's ``message`` as an error naming this destination; a refused server
        key as the hard stop naming both fingerprints (read once per backend)."""
        kind = host_key_fault(message) if self.sftp else ""
        if not kind:
            return describe(self.label, action, message)
        with self._lock:
            if self._key_fault is None:
                if kind == "changed":
                    self._key_fault = hostkey.changed_error(self.label, self.root, self.config)
                elif kind == "unknown":
                    self._key_fault = hostkey.not_pinned_error(self.label, self.root)
                else:
                    self._key_fault = hostkey.unreadable_error(self.label, self.config, message)
                log.warning("%s", self._key_fault.detail)
            return self._key_fault

    def remove_partial(self, partial: str) -> None:
        with contextlib.suppress(RemoteError):
            if self.stat(partial) is not None:
                self.call(
                    f"remove {partial}", "operations/deletefile", fs=self.fs(""), remote=partial
                )

    def server_digest(self, relpath: str, algorithm: str, *, download: bool = False) -> str:
        """The hash rclone reports for ``relpath`` ("" when the backend has none)."""
        answer = self.call(
            f"check {relpath}",
            "operations/hashsumfile",  # one file of the root's Fs: no new connection
            fs=self.fs(""),
            remote=relpath,
            hashType=algorithm,
            download=download,
        )
        digest = str(answer.get("hash") or "").strip().lower()
        return "" if set(digest) <= {"-"} else digest

    # ------------------------------------------------------------------ protocol
    def wanted_digests(self) -> frozenset[str]:
        h = self.server_hash
        return frozenset({h.algorithm}) if h and h.algorithm != "blake3" else frozenset()

    def start_upload(self, relpath: str, size: int) -> Upload:
        self._clean_folder_once(relpath.rpartition("/")[0])
        return RcUpload(self, relpath, size)

    def _clean_folder_once(self, relfolder: str) -> None:
        """Remove partials a killed run left in ``relfolder`` (older than a day, so an
        upload running elsewhere right now is never touched). Once per folder per job."""
        with self._lock:
            if relfolder in self._cleaned:
                return
            self._cleaned.add(relfolder)
        try:
            entries = self.list(relfolder)
        except RemoteError:
            return  # a new folder, or the upload reports the fault itself
        cutoff = datetime.now(UTC) - STALE_PARTIAL_AGE
        for e in entries:
            if e.is_dir or not e.relpath.endswith(PARTIAL_SUFFIX):
                continue
            try:
                modified = datetime.fromisoformat(e.modified.replace("Z", "+00:00"))
            except ValueError:
                continue
            if modified < cutoff:
                log.info("%s: removing stale partial %s", self.label, e.relpath)
                self.remove_partial(e.relpath)

    def prove(self, name: str, digests: SourceDigests) -> StoredProof:
        h = self.server_hash
        if h is not None and digests.get(h.algorithm):
            bulk = self.bulk if digests.size <= BULK_MAX_SIZE else None
            stored = bulk.digest(name) if bulk else self.server_digest(name, h.algorithm)
            if stored:
                return StoredProof(h.kind, h.algorithm, digests.get(h.algorithm), stored)
            reason = f"the server gave no {h.algorithm} for this file (multipart upload)"
        elif h is None:
            reason = self.probe_note or f"{self.label} computes no hash we can use"
        else:
            reason = f"our read pass has no {h.algorithm}"
        stored = self.server_digest(name, "blake3", download=True)
        return StoredProof(ProofKind.DOWNLOAD_BACK, "blake3", digests.blake3, stored, reason)

    def publish(self, upload: Upload) -> None:
        if self.stat(upload.relpath) is not None:
            raise NameTaken(
                f"{upload.relpath} already exists at {self.label}; it was not replaced.",
                next_step="Nothing to do if it is the same file (the copy is checked by "
                "its hash); otherwise rename one of them.",
            )
        self.call(
            f"publish {upload.relpath}",
            "operations/movefile",
            srcFs=self.fs(""),
            srcRemote=upload.partial,
            dstFs=self.fs(""),
            dstRemote=upload.relpath,
        )
        if self.type == "sftp":  # a rename on the server's disk: the proven bytes moved
            return
        entry = self.stat(upload.relpath)  # a copy-then-delete elsewhere: check it landed
        if entry is None or entry.size != upload.size:
            raise describe(
                self.label,
                f"publish {upload.relpath}",
                "the final name is missing or has another size after the move",
            )

    def stat(self, relpath: str) -> Entry | None:
        item = self.call(
            f"look at {relpath}",
            "operations/stat",
            fs=self.fs(""),
            remote=relpath,
            opt={"filesOnly": True, "noMimeType": True},  # no listing of the folder
        )
        found = item.get("item")
        return _entry(found) if isinstance(found, dict) else None

    def list(self, relfolder: str = "", *, recursive: bool = False) -> list[Entry]:
        answer = self.call(
            f"list {relfolder or 'the root'}",
            "operations/list",
            fs=self.fs(""),
            remote=relfolder,
            opt={"recurse": recursive, "noMimeType": True},
        )
        return [_entry(item) for item in answer.get("list") or [] if isinstance(item, dict)]

    def read_manifest(self) -> dict[str, str]:
        """``relpath -> blake3`` of every copy recorded here: the root manifest and the
        per-job parts not yet merged into it (:meth:`close`)."""
        out = self._read_lines(MANIFEST_NAME)
        for part in self._manifest_parts():
            out.update(self._read_lines(part.relpath))
        return out

    def _manifest_parts(self) -> builtins.list[Entry]:
        try:
            entries = self.list(RECEIPTS_DIR)
        except RemoteError as exc:
            if "directory not found" in exc.detail:
                return []
            raise
        return sorted(
            (e for e in entries if not e.is_dir and e.relpath.endswith(PART_SUFFIX)),
            key=lambda e: e.relpath,
        )

    def read_file(self, relpath: str) -> bytes | None:
        """The bytes of one of our own records here (``None`` when missing)."""
        if self.stat(relpath) is None:
            return None
        with tempfile.TemporaryDirectory(prefix="almc-record-") as tmp:
            self.call(
                f"read {relpath}",
                "operations/copyfile",
                srcFs=self.fs(""),
                srcRemote=relpath,
                dstFs=tmp,
                dstRemote="record",
            )
            return (Path(tmp) / "record").read_bytes()

    def _read_lines(self, relpath: str) -> dict[str, str]:
        data = self.read_file(relpath)
        if data is None:
            return {}
        text = data.decode("utf-8", errors="surrogateescape")
        out: dict[str, str] = {}
        for line in text.splitlines(keepends=True):
            parsed = parse_line(line)
            if parsed is not None and unsafe_path(parsed[1]) is None:
                out[parsed[1]] = parsed[0]
        return out

    def write_file(self, relpath: str, data: bytes, *, replace: bool = False) -> None:
        """Store ``data`` at ``relpath`` through a partial name (one of our own records:
        the manifest, a part of it, a receipt). ``replace`` only for the manifest."""
        upload = RcUpload(self, relpath, len(data))
        try:
            upload.write(data)
            upload.finish()
            if not replace:
                self.publish(upload)
                return
            self.call(
                "update the manifest",
                "operations/movefile",
                srcFs=self.fs(""),
                srcRemote=upload.partial,
                dstFs=self.fs(""),
                dstRemote=relpath,
                _config={"IgnoreTimes": True},  # replace even when size and time match
            )
        except BaseException:
            with contextlib.suppress(RemoteError):
                upload.abort()
            raise

    def record(self, entries: Iterable[tuple[str, str]]) -> None:
        """Remember ``(relpath, blake3)`` of published copies; :meth:`close` writes them."""
        with self._lock:
            self._pending.extend(entries)

    def close(self) -> None:
        """Write the remembered copies to the remote manifest without losing another
        job's lines, however the jobs interleave.

        1. This job's lines go first into a part of their own,
           ``almc-receipts/<time>-<token>.manifest.b3sum`` (a unique name, never
           replaced): from then on nothing can lose them (:meth:`read_manifest` reads the
           root manifest and every part).
        2. The root manifest is rewritten as the union of itself and every part (read,
           merge, replace); if a part appeared meanwhile, again (a few times at most).
           Two jobs racing here may leave the root file without the other's lines for a
           moment; those lines stay in their part, and the next job merges them.
        3. Parts older than :data:`PART_GRACE` whose lines the root file now holds are
           removed. A job's read-merge-write takes seconds, so no job still writing can
           have read the root file before such a part existed.
        """
        with self._lock:
            pending, self._pending = self._pending, []
        if not pending:
            return
        text = "".join(format_line(d, rel) for rel, d in pending)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        part = f"{RECEIPTS_DIR}/{stamp}-{secrets.token_hex(4)}{PART_SUFFIX}"
        try:
            self.write_file(part, text.encode("utf-8", errors="surrogateescape"))
        except BaseException:
            with self._lock:
                self._pending[:0] = pending
            raise
        self._merge()

    def _merge(self) -> None:
        seen: set[str] = set()
        for _ in range(MERGE_ROUNDS):
            parts = self._manifest_parts()
            names = {p.relpath for p in parts}
            if names <= seen:
                break
            seen |= names
            merged = self._read_lines(MANIFEST_NAME)
            for p in parts:
                merged.update(self._read_lines(p.relpath))
            if self._merge_hook is not None:
                self._merge_hook()
            body = "".join(format_line(d, rel) for rel, d in sorted(merged.items()))
            self.write_file(MANIFEST_NAME, body.encode("utf-8", "surrogateescape"), replace=True)
        self._compact()

    def _compact(self) -> None:
        root = self._read_lines(MANIFEST_NAME)
        cutoff = datetime.now(UTC) - PART_GRACE
        for p in self._manifest_parts():
            try:
                modified = datetime.fromisoformat(p.modified.replace("Z", "+00:00"))
            except ValueError:
                continue
            if modified >= cutoff:
                continue
            lines = self._read_lines(p.relpath)
            if all(root.get(rel) == d for rel, d in lines.items()):
                self.call(
                    "tidy the manifest", "operations/deletefile", fs=self.fs(""), remote=p.relpath
                )


def connection_name(name: str, opts: dict[str, str]) -> str:
    """``name,key=value,...``: remote ``name`` with ``opts`` forced (a value with more
    than letters, digits and ``_./+-`` in double quotes, its own doubled)."""
    return ",".join([name, *(f"{k}={_quoted(v)}" for k, v in sorted(opts.items()))])


def _quoted(value: str) -> str:
    if re.fullmatch(r"[A-Za-z0-9_./+-]*", value):
        return value
    return '"' + value.replace('"', '""') + '"'


def _entry(item: dict[str, Any]) -> Entry:
    return Entry(
        relpath=str(item.get("Path", "")),
        size=int(item.get("Size", -1)),
        is_dir=bool(item.get("IsDir", False)),
        modified=str(item.get("ModTime", "")),
    )
