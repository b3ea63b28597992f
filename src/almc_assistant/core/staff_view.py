"""Staff reading each user's catalog as hints: a private snapshot, the owner's rows only.

Thread contract: blocking (it copies files and opens SQLite); call it from the CLI's main
thread or a service worker. A :class:`StaffView` is used by one thread at a time.

Root never opens a user's catalog in place: SQLite would create ``-wal``/``-shm`` files
there, through any link the user planted. Instead the catalog (and its ``-wal``) is read
through a descriptor (no links, never blocking on a FIFO, only a regular file the user
owns, at most :data:`MAX_CATALOG_BYTES`) into a folder private to staff, and opened from
there. In that snapshot only rows about files the catalog's owner owns are kept, only
copies inside a destination the facility or that owner configured, and whether each
file is safe is decided again from the facility's policy, never read from the user's
stored flags. Everything it says is a hint: cleanup re-checks the evidence on storage.
A catalog that cannot be read (damaged, from a newer version, refused) costs only that
user's entry, with a message naming it.
"""

from __future__ import annotations

import logging
import os
import shutil
import stat
import tempfile
import tomllib
from dataclasses import dataclass, field
from pathlib import Path, PurePath

from almc_assistant.core import privatefs
from almc_assistant.core.catalog import Catalog
from almc_assistant.core.config import Config, read_user_settings
from almc_assistant.core.destinations import Destination
from almc_assistant.core.errors import AlmcError
from almc_assistant.core.paths import APP_NAME
from almc_assistant.core.policy import Policy, remote_device
from almc_assistant.core.shared_state import CATALOG_NAME, UserFolder, user_folders
from almc_assistant.core.units import plural

log = logging.getLogger(__name__)

MAX_CATALOG_BYTES = 8 << 30
MAX_CONFIG_BYTES = 1 << 20


@dataclass
class UserHints:
    """One user's catalog as staff may use it (see the module docstring)."""

    folder: UserFolder
    catalog: Catalog  # the snapshot, owner's rows only, safety decided by ``policy``
    policy: Policy  # the facility's policy over the facility's and the owner's destinations
    owner_destinations: tuple[Destination, ...]  # what the owner configured themselves


@dataclass
class StaffView:
    """Every sound user catalog under the facility's shared state folder, as hints."""

    config: Config
    skip_uid: int | None = None  # staff's own catalog is read as it is
    users: list[UserHints] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    _workdir: Path | None = None

    def open(self) -> StaffView:
        root = self.config.shared_state_dir
        if root is None:
            return self
        try:
            folders, self.problems = user_folders(root)
        except (AlmcError, OSError) as exc:
            self.problems.append(_why(exc, root))
            return self
        self._workdir = Path(tempfile.mkdtemp(prefix="almc-staff-"))
        for folder in folders:
            if folder.uid == self.skip_uid:
                continue
            try:
                self.users.append(self._open_user(folder))
            except (AlmcError, OSError) as exc:
                self.problems.append(
                    f"{folder.name}'s catalog {folder.catalog} was not read "
                    f"({_why(exc, folder.catalog)}); none of {folder.name}'s files is "
                    "cleaned up this time."
                )
        return self

    def close(self) -> None:
        for hints in self.users:
            hints.catalog.close()
        self.users = []
        if self._workdir is not None:
            shutil.rmtree(self._workdir, ignore_errors=True)
            self._workdir = None

    def __enter__(self) -> StaffView:
        return self.open()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def for_user(self, name: str) -> UserHints | None:
        return next((u for u in self.users if u.folder.name == name), None)

    # ------------------------------------------------------------------ one user
    def _open_user(self, folder: UserFolder) -> UserHints:
        assert self._workdir is not None
        into = self._workdir / str(folder.uid)
        privatefs.ensure_private_dir(into)
        snapshot = into / CATALOG_NAME
        _copy_foreign(folder.catalog, snapshot, folder.uid, required=True)
        _copy_foreign(Path(f"{folder.catalog}-wal"), Path(f"{snapshot}-wal"), folder.uid)
        with Catalog(snapshot, busy_timeout=1.0) as first:
            where = first.noted("user_config")
        own = self._owner_destinations(folder, where)
        destinations = self.config.facility_destinations + own
        policy = Policy(
            self.config.policy, destinations, acquisition_roots=self.config.acquisition_folders
        )
        catalog = Catalog(snapshot, safety=policy.is_safe, busy_timeout=1.0)
        try:
            remote = _keep_only_owner(
                catalog, folder.name, folder.uid, [Path(d.path) for d in destinations]
            )
            catalog.recompute_safety()
        except BaseException:
            catalog.close()
            raise
        if remote:
            self.problems.append(
                f"{plural(remote, 'copy', 'copies')} of {folder.name}'s files on remote "
                "destinations: not counted by staff's cleanup, which proves a remote copy "
                f"with the sign-in of the user running it and cannot sign in as {folder.name} "
                f"(their files need the copies the policy asks for elsewhere)."
            )
        return UserHints(folder, catalog, policy, own)

    def _owner_destinations(self, folder: UserFolder, where: str | None) -> tuple[Destination, ...]:
        """The destinations the user configured, from their own settings file (theirs,
        not a link, small); none when it cannot be read (their copies then count only
        on the facility's destinations)."""
        path = Path(where) if where else _default_user_config(folder.uid)
        if path is None:
            return ()
        try:
            with privatefs.read_foreign(path, uid=folder.uid, max_bytes=MAX_CONFIG_BYTES) as fh:
                data = tomllib.load(fh)
        except FileNotFoundError:
            return ()
        except (AlmcError, OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            self.problems.append(
                f"{folder.name}'s settings {path} were not read ({_why(exc, path)}); only the "
                "facility's destinations count for their files."
            )
            return ()
        settings = read_user_settings(path, data, self.config)
        return tuple(d for d in settings.destinations if d.origin == "user")


def _why(exc: BaseException, path: Path) -> str:
    if isinstance(exc, AlmcError):
        return exc.detail
    if isinstance(exc, OSError):
        return f"{exc.strerror or exc}"
    return str(exc)


def _default_user_config(uid: int) -> Path | None:
    try:
        import pwd

        home = Path(pwd.getpwuid(uid).pw_dir)
    except (ImportError, KeyError):
        return None
    return home / ".config" / APP_NAME / "config.toml"


def _copy_foreign(src: Path, dest: Path, uid: int, *, required: bool = False) -> None:
    """Copy ``src`` (the user's) into staff's private ``dest`` (0600, created new)."""
    try:
        with privatefs.read_foreign(src, uid=uid, max_bytes=MAX_CATALOG_BYTES) as fh:
            fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL | privatefs.NOFOLLOW, 0o600)
            with open(fd, "wb") as out:
                shutil.copyfileobj(fh, out, 1 << 20)
    except FileNotFoundError:
        if required:
            raise


def _inside(path: str, roots: list[Path]) -> bool:
    p = PurePath(os.path.normpath(path))
    if ".." in PurePath(path).parts or not p.is_absolute():
        return False
    return any(p == r or r in p.parents for r in roots)


def _owned_by(path: str, uid: int) -> bool:
    """Whether ``path`` is, on storage now, not a link and owned by ``uid`` (a missing
    file is kept: it is no cleanup candidate, and its row tells it was lost)."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return True
    except (OSError, ValueError):
        return False
    return st.st_uid == uid and not stat.S_ISLNK(st.st_mode)


def _keep_only_owner(catalog: Catalog, owner: str, uid: int, roots: list[Path]) -> int:
    """Drop rows about files of anyone but ``owner`` (by the name the row gives and by
    the file's owner on storage), and copies outside ``roots``; returns how many of
    those were copies on remote destinations."""
    conn = catalog.db.conn()
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.execute("DELETE FROM files WHERE owner IS NOT ?", (owner,))
        foreign = [
            (row[0],)
            for row in conn.execute(
                "SELECT id, path FROM files WHERE state IN ('acquiring', 'complete')"
            )
            if not _owned_by(str(row[1]), uid)
        ]
        conn.executemany("DELETE FROM files WHERE id = ?", foreign)
        outside = [
            (row[0], str(row[1]))
            for row in conn.execute("SELECT id, destination_root, path FROM copies")
            if not (_inside(str(row[1]), roots) and _inside(str(row[2]), roots))
        ]
        conn.executemany("DELETE FROM copies WHERE id = ?", [(i,) for i, _ in outside])
        conn.execute("COMMIT")
        return sum(1 for _, root in outside if remote_device(root) is not None)
    except BaseException:
        conn.execute("ROLLBACK")
        raise
