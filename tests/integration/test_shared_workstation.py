"""Issue 10 on a real shared workstation: two unprivileged accounts and staff (root).

Each test is one attack from the issue, run for real through the CLI as the accounts
(``tests/multiuser.py``); they skip cleanly where the suite does not run as root on Linux.
The workstation: a facility file owned by root, a shared state folder owned by root with
mode 1733 (each user makes their own ``<uid>/`` folder), an acquisition disk (a small
tmpfs, so that "disk full" makes files cleanup candidates at once) with a common sticky
folder, and destinations users share.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.multiuser import SRC, Account, _interpreter, _site_packages

pytestmark = pytest.mark.root


@dataclass(frozen=True)
class Workstation:
    root: Path
    acq: Path  # tmpfs
    common: Path  # acq/common, 1777
    bit: Path  # the facility's institutional destination, 1777
    share: Path  # a lab share users configure themselves, 1777
    state: Path  # shared_state_dir, root's, 1733
    facility: Path

    def env(self, **extra: str) -> dict[str, str]:
        return {"ALMC_FACILITY_CONFIG": str(self.facility), **extra}

    def staff(self, args: list[str], **extra: str) -> subprocess.CompletedProcess[str]:
        """Run the CLI as root (staff), with root's own ALMC_HOME."""
        env = {
            "PATH": "/usr/bin:/bin",
            "HOME": str(self.root / "root-home"),
            "ALMC_HOME": str(self.root / "root-home" / "almc"),
            "PYTHONPATH": os.pathsep.join([str(SRC), *_site_packages()]),
            "LANG": "C.UTF-8",
            **self.env(),
            **extra,
        }
        return subprocess.run(
            [_interpreter(), "-m", "almc_assistant", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )


def _facility_text(ws: Workstation, extra: str = "") -> str:
    return (
        "[facility]\n"
        f"shared_state_dir = {str(ws.state)!r}\n"
        "[watch]\n"
        f"folders = [{str(ws.acq)!r}]\n"
        "quiet_seconds = 1\n"
        "[retention]\ndisk_full_percent = 10\n"
        "[[destinations]]\nname = 'BIT'\n"
        f"path = {str(ws.bit)!r}\nkind = 'institutional'\n" + extra
    )


@pytest.fixture
def ws(shared_root: Path, users: tuple[Account, Account]) -> Iterator[Workstation]:
    acq = shared_root / "acq"
    acq.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=16m,mode=0755", "tmpfs", str(acq)],
        capture_output=True,
        text=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs: {mounted.stderr.strip()}")
    try:
        w = Workstation(
            root=shared_root,
            acq=acq,
            common=acq / "common",
            bit=shared_root / "bit",
            share=shared_root / "labshare",
            state=shared_root / "state",
            facility=shared_root / "facility.toml",
        )
        for folder, mode in ((w.common, 0o1777), (w.bit, 0o1777), (w.share, 0o1777)):
            folder.mkdir()
            folder.chmod(mode)
        w.state.mkdir()
        w.state.chmod(0o1733)
        w.facility.write_text(_facility_text(w))
        w.facility.chmod(0o644)
        yield w
    finally:
        subprocess.run(["umount", "-l", str(acq)], check=False)


def _data(who: Account, path: Path, size: int = 2 << 20, byte: bytes = b"d") -> Path:
    who.write(path, byte * size, 0o644)
    old = time.time() - 3 * 86_400
    os.utime(path, (old, old))
    return path


def _ok(done: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    assert done.returncode in (0, 1), done.stdout + done.stderr
    return done


def _status(who: Account, ws: Workstation, **extra: str) -> dict[str, object]:
    done = _ok(who.run(["almc-assistant", "status", "--json"], env=ws.env(**extra)))
    doc: dict[str, object] = json.loads(done.stdout)
    return doc


def _unsafe_paths(doc: dict[str, Any]) -> set[str]:
    return {str(f["path"]) for f in doc["files"]}


def _backed_up(who: Account, ws: Workstation, path: Path) -> None:
    """``who``'s app sees ``path`` and copies it, verified, to the facility's storage."""
    _ok(who.run(["almc-assistant", "watch", "--once"], env=ws.env()))
    copied = who.run(["almc-assistant", "copy", str(path), "--to", str(ws.bit)], env=ws.env())
    assert copied.returncode == 0, copied.stdout + copied.stderr


def _forge(who: Account, ws: Workstation, victim: Path, copy_dir: Path, owner: str) -> None:
    """``who`` writes, into the catalog their app uses, a verified copy of ``victim``:
    a true copy of its bytes in ``copy_dir`` (a folder ``who`` configured as an
    institutional destination), with the matching BLAKE3."""
    script = f"""
import shutil, time
from pathlib import Path
from almc_assistant.core.catalog import FileState
from almc_assistant.core.copies import CopyRecord
import blake3
from almc_assistant.core.events import NullSink
from almc_assistant.core.paths import AppPaths
from almc_assistant.core.service import Service
victim, copy_dir = Path({str(victim)!r}), Path({str(copy_dir)!r})
copy = copy_dir / victim.name
shutil.copyfile(victim, copy)
st = victim.stat()
s = Service(AppPaths.default().ensure(), NullSink())
s.catalog.record_seen(victim, size=st.st_size, mtime_ns=st.st_mtime_ns, owner={owner!r},
                      state=FileState.COMPLETE, root=Path({str(ws.acq)!r}))
s.catalog.record_copy(CopyRecord(source=victim, destination_root=copy_dir, path=copy,
                      size=st.st_size, mtime_ns=st.st_mtime_ns,
                      blake3=blake3.blake3(copy.read_bytes()).hexdigest(),
                      verified_at=time.time()), owner={owner!r})
print(s.catalog.path)
s.stop()
"""
    config = who.home / "almc" / "config" / "config.toml"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(
        f"[[destinations]]\nname = 'mine'\npath = {str(copy_dir)!r}\nkind = 'institutional'\n"
    )
    os.chown(config.parent, who.uid, who.gid)
    os.chown(config, who.uid, who.gid)
    done = who.run(["python", "-c", script], env=ws.env())
    assert done.returncode == 0, done.stderr


# ---------------------------------------------------------------- evidence and cleanup


def test_staff_cleanup_deletes_a_users_safe_file_from_their_own_catalog(
    users: tuple[Account, Account], ws: Workstation
) -> None:
    """The wiring works: B's verified copy on the facility's storage lets root delete."""
    _, b = users
    mine = _data(b, ws.common / "b-safe.nd2")
    _backed_up(b, ws, mine)
    done = ws.staff(["cleanup", "--apply", "--json"])
    assert done.returncode == 0, done.stdout + done.stderr
    doc = json.loads(done.stdout)
    assert [o["path"] for o in doc["outcomes"] if o["deleted"]] == [str(mine)], done.stdout
    assert not mine.exists()


def test_forged_evidence_in_a_users_catalog_deletes_nothing_of_another_user(
    users: tuple[Account, Account], ws: Workstation
) -> None:
    a, b = users
    victim = _data(b, ws.common / "b-unbacked.nd2")
    _ok(b.run(["almc-assistant", "watch", "--once"], env=ws.env()))
    own = a.make_dir(ws.root / "a-dest", 0o755)
    # A true copy of B's bytes in the facility's own storage (A may write there) or in
    # a folder A configured, the row naming B or A as the file's owner.
    for folder, claimed_owner in ((ws.bit, b.name), (ws.bit, a.name), (own, a.name)):
        _forge(a, ws, victim, folder, claimed_owner)
        done = ws.staff(["cleanup", "--apply", "--json"])
        assert victim.exists(), done.stdout + done.stderr
        doc = json.loads(done.stdout)
        assert str(victim) not in [o["path"] for o in doc.get("outcomes", []) if o["deleted"]]
    assert str(victim) in _unsafe_paths(_status(b, ws))  # B still sees it at risk


def test_other_users_cannot_write_lock_or_read_a_users_catalog(
    users: tuple[Account, Account], ws: Workstation
) -> None:
    a, b = users
    _data(b, ws.common / "b1.nd2", 10)
    _ok(b.run(["almc-assistant", "watch", "--once"], env=ws.env()))
    folder = ws.state / str(b.uid)
    db = folder / "catalog.sqlite3"
    st_folder, st_db = folder.lstat(), db.lstat()
    assert st_folder.st_uid == b.uid and stat.S_IMODE(st_folder.st_mode) == 0o700
    assert st_db.st_uid == b.uid and stat.S_IMODE(st_db.st_mode) == 0o600
    attack = f"""
import sqlite3
c = sqlite3.connect({str(db)!r}, isolation_level=None, timeout=0.1)
c.execute("BEGIN EXCLUSIVE")
"""
    done = a.run(["python", "-c", attack])
    assert done.returncode != 0 and "unable to open database" in done.stderr
    assert a.run(["cat", str(db)]).returncode != 0
    assert a.run(["ls", str(folder)]).returncode != 0  # not even the names
    # A cannot take over B's name nor plant a link or FIFO in B's folder.
    for cmd in (["ln", "-s", "/etc/passwd", str(db) + "-wal"], ["mkfifo", str(db) + "-shm"]):
        assert a.run(cmd).returncode != 0
    assert _status(b, ws)["total_files"] == 1


def test_laxer_facility_override_changes_only_that_users_view_never_staffs(
    users: tuple[Account, Account], ws: Workstation
) -> None:
    a, b = users
    victim = _data(b, ws.common / "b-lax.nd2")
    _ok(b.run(["almc-assistant", "watch", "--once"], env=ws.env()))
    lax = a.write(
        ws.root / "a-facility.toml",
        (_facility_text(ws) + "[policy]\nindependent_copies = 1\n").encode(),
    )
    copied = a.make_dir(ws.root / "a-usb", 0o755)
    _forge(a, ws, victim, copied, a.name)
    assert _ok(a.run(["almc-assistant", "status"], env={"ALMC_FACILITY_CONFIG": str(lax)}))
    assert str(victim) in _unsafe_paths(_status(b, ws))  # B's view is B's own
    # Root inheriting A's override (sudo -E, a wrapper): the file is A's, so it is ignored.
    done = ws.staff(["cleanup", "--apply", "--json"], ALMC_FACILITY_CONFIG=str(lax))
    assert victim.exists()
    assert "belongs to a user, not to root" in done.stdout + done.stderr


# ---------------------------------------------------------------- shared state folder


def test_whoever_starts_first_does_not_create_or_own_shared_state(
    users: tuple[Account, Account], ws: Workstation
) -> None:
    a, _ = users
    ws.state.rmdir()
    doc = _status(a, ws)
    assert not ws.state.exists()
    assert any("does not exist (staff create it" in p["detail"] for p in doc["problems"])  # type: ignore[attr-defined]
    ws.state.mkdir(mode=0o755)  # staff's, closed: staff create each user's folder
    doc = _status(a, ws)
    wanted = f"install -d -o {a.name} -m 0700 {ws.state / str(a.uid)}"
    assert any(wanted in p["detail"] for p in doc["problems"]), doc  # type: ignore[attr-defined]
    os.chown(ws.state, a.uid, a.gid)  # a user's folder, not staff's
    ws.state.chmod(0o777)
    _, b = users
    doc = _status(b, ws)
    assert any("belongs to almc-ta (a user), not to root" in p["detail"] for p in doc["problems"])  # type: ignore[attr-defined]
    assert not (ws.state / str(b.uid)).exists()


def test_a_folder_taken_in_another_users_name_is_refused_and_named(
    users: tuple[Account, Account], ws: Workstation
) -> None:
    a, b = users
    squat = a.make_dir(ws.state / str(b.uid), 0o777)
    target = ws.root / "home" / b.name / ".bash_profile"
    (squat / "catalog.sqlite3").symlink_to(target)
    os.lchown(squat / "catalog.sqlite3", a.uid, a.gid)
    _data(b, ws.common / "b2.nd2", 10)
    done = _ok(b.run(["almc-assistant", "watch", "--once"], env=ws.env()))
    doc = _status(b, ws)
    assert any(
        f"{squat} is named after uid {b.uid} ({b.name}) but belongs to {a.name}" in p["detail"]
        for p in doc["problems"]  # type: ignore[attr-defined]
    ), done.stderr
    assert doc["total_files"] == 1  # B's app works on, from B's own folder
    assert not target.exists() and not target.is_symlink()
    staff = ws.staff(["cleanup", "--json"])
    assert f"{squat} is named after uid {b.uid}" in staff.stdout, staff.stderr


def test_corruption_recovery_keeps_the_name_private(
    users: tuple[Account, Account], ws: Workstation
) -> None:
    a, b = users
    _data(b, ws.common / "b3.nd2", 10)
    _ok(b.run(["almc-assistant", "watch", "--once"], env=ws.env()))
    db = ws.state / str(b.uid) / "catalog.sqlite3"
    for suffix in ("-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    db.write_bytes(b"\0garbage" * 512)  # root writes; the file stays B's
    doc = _status(b, ws)
    assert any("was damaged" in p["detail"] for p in doc["problems"])  # type: ignore[attr-defined]
    st = db.lstat()
    assert st.st_uid == b.uid and stat.S_IMODE(st.st_mode) == 0o600
    assert a.run(["touch", str(db) + ".x"]).returncode != 0


# ---------------------------------------------------------------- hostile data, staff side


@pytest.mark.parametrize("hostile", ["fifo", "future-schema", "link", "malformed-row"])
def test_one_users_hostile_catalog_costs_only_that_user_in_staffs_cleanup(
    users: tuple[Account, Account], ws: Workstation, hostile: str
) -> None:
    a, b = users
    mine = _data(b, ws.common / "b-safe2.nd2")
    _backed_up(b, ws, mine)
    _data(a, ws.common / "a-x.nd2", 10)
    _ok(a.run(["almc-assistant", "watch", "--once"], env=ws.env()))
    db = ws.state / str(a.uid) / "catalog.sqlite3"
    for suffix in ("-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    if hostile == "fifo":
        db.unlink()
        a.run(["mkfifo", "-m", "600", str(db)], check=True)
    elif hostile == "link":
        a.run(["ln", "-sf", "/etc/shadow", str(db) + "-wal"], check=True)
    elif hostile == "future-schema":
        a.run(
            [
                "python",
                "-c",
                f"import sqlite3; sqlite3.connect({str(db)!r}).execute('PRAGMA user_version = 99')",
            ],
            check=True,
        )
    else:
        script = (
            f"import sqlite3; c = sqlite3.connect({str(db)!r}); c.execute("
            "\"UPDATE files SET state = 'complete', born = 'x', size = 'big'\"); c.commit()"
        )
        a.run(["python", "-c", script], check=True)
    done = ws.staff(["cleanup", "--apply", "--json"])  # no hang: the timeout would fail it
    assert done.returncode in (0, 1), done.stdout + done.stderr
    assert "Internal error" not in done.stderr
    doc = json.loads(done.stdout)
    assert not mine.exists()  # B's file was cleaned as usual
    if hostile != "malformed-row":
        assert any(str(db) in p or a.name in p for p in doc["problems"]), doc["problems"]
    assert Path("/etc/shadow").stat().st_uid == 0


def test_a_users_remote_copies_are_named_not_counted_by_staffs_cleanup(
    users: tuple[Account, Account], ws: Workstation
) -> None:
    """Staff's cleanup cannot sign in to B's remotes: B's remote copy does not make B's
    file deletable, and cleanup says why, naming B."""
    _, b = users
    mine = _data(b, ws.common / "b-remote.nd2")
    _ok(b.run(["almc-assistant", "watch", "--once"], env=ws.env()))
    script = f"""
import time
from pathlib import Path
import blake3
from almc_assistant.core.copies import CopyRecord
from almc_assistant.core.events import NullSink
from almc_assistant.core.paths import AppPaths
from almc_assistant.core.service import Service
src = Path({str(mine)!r})
st = src.stat()
s = Service(AppPaths.default().ensure(), NullSink())
proof = {{"proof": "server-blake3", "verified": True}}
s.catalog.record_copy(CopyRecord(source=src, destination_root=Path("research:lab/b"),
                      path=Path("research:lab/b/b-remote.nd2"), size=st.st_size,
                      mtime_ns=st.st_mtime_ns, blake3=blake3.blake3(src.read_bytes()).hexdigest(),
                      verified_at=time.time(), proof=proof), owner={b.name!r})
s.stop()
"""
    done = b.run(["python", "-c", script], env=ws.env())
    assert done.returncode == 0, done.stderr
    done = ws.staff(["cleanup", "--apply", "--json"])
    assert done.returncode in (0, 1), done.stdout + done.stderr
    doc = json.loads(done.stdout)
    assert mine.exists()
    assert any(
        f"1 copy of {b.name}'s files on remote destinations: not counted" in p
        for p in doc["problems"]
    ), doc["problems"]


def test_a_malformed_row_in_your_own_catalog_is_a_message_not_a_crash(
    users: tuple[Account, Account], ws: Workstation
) -> None:
    _, b = users
    _data(b, ws.common / "b4.nd2", 10)
    _data(b, ws.common / "b5.nd2", 10)
    _ok(b.run(["almc-assistant", "watch", "--once"], env=ws.env()))
    db = ws.state / str(b.uid) / "catalog.sqlite3"
    script = (
        f"import sqlite3; c = sqlite3.connect({str(db)!r}); c.execute("
        "\"UPDATE files SET size = 'big' WHERE path LIKE '%b4.nd2'\"); c.commit()"
    )
    b.run(["python", "-c", script], check=True)
    done = b.run(["almc-assistant", "status"], env=ws.env())
    assert done.returncode == 1 and "Internal error" not in done.stderr + done.stdout
    assert "could not be read and were left out" in done.stdout
    assert "b5.nd2" in done.stdout


# ---------------------------------------------------------------- receipts


def _forged_receipt(a: Account, folder: Path, victim: Path, copy: Path) -> Path:
    import blake3

    receipts = folder / "almc-receipts"
    if not receipts.exists():
        a.make_dir(receipts, 0o755)
    doc = {
        "format": "almc-assistant copy receipt 1",
        "destination_root": str(folder),
        "verified": [
            {
                "source": str(victim),
                "destination": str(copy),
                "size": copy.stat().st_size,
                "mtime_ns": victim.stat().st_mtime_ns,
                "blake3": blake3.blake3(copy.read_bytes()).hexdigest(),
                "verified_at": "2026-01-01T00:00:00+00:00",
            }
        ],
    }
    return a.write(receipts / "20260101T000000Z-forged.json", json.dumps(doc).encode(), 0o644)


def test_forged_receipts_mark_nothing_of_another_user_safe(
    users: tuple[Account, Account], ws: Workstation
) -> None:
    a, b = users
    victim = _data(b, ws.common / "b-receipt.nd2")
    b_config = b.home / "almc" / "config" / "config.toml"
    b.make_dir(b_config.parent)
    lab = f"[[destinations]]\nname = 'lab'\npath = {str(ws.share)!r}\nkind = 'institutional'\n"
    b.write(b_config, lab.encode())
    # A drops a true copy and a receipt into the share B uses, and into the facility's.
    for folder in (ws.share, ws.bit):
        copy = a.write(folder / victim.name, victim.read_bytes(), 0o644)
        _forged_receipt(a, folder, victim, copy)
    _ok(b.run(["almc-assistant", "watch", "--once"], env=ws.env()))
    assert str(victim) in _unsafe_paths(_status(b, ws))
    # A configures its own folder and imports a receipt there: A's catalog only, and
    # about a file that is not A's: nothing counts, staff delete nothing.
    mine = a.make_dir(ws.root / "a-share", 0o755)
    copy = a.write(mine / victim.name, victim.read_bytes(), 0o644)
    _forged_receipt(a, mine, victim, copy)
    _forge(a, ws, victim, mine, a.name)  # also writes A's config naming a-share
    done = ws.staff(["cleanup", "--apply", "--json"])
    assert victim.exists(), done.stdout


# ---------------------------------------------------------------- privacy


def test_other_users_files_status_and_logs_are_private(
    users: tuple[Account, Account], ws: Workstation
) -> None:
    a, b = users
    _data(b, ws.common / "b-private-name.nd2", 10)
    _ok(b.run(["almc-assistant", "watch", "--once"], env=ws.env()))
    refused = a.run(["almc-assistant", "status", "--user", b.name], env=ws.env())
    assert refused.returncode == 2
    assert "Only staff may see another user's files" in refused.stderr
    assert "b-private-name" not in refused.stdout + refused.stderr
    seen = ws.staff(["status", "--user", b.name, "--json"])
    assert seen.returncode == 1, seen.stderr
    assert json.loads(seen.stdout)["total_files"] == 1
    state, logs = b.home / "almc" / "state", b.home / "almc" / "log"
    for folder in (state, logs):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700, folder
    script = (
        "import logging, sys; from pathlib import Path;"
        "from almc_assistant.qt.app import setup_log_file;"
        f"p = setup_log_file(Path({str(logs)!r})); logging.getLogger('x').warning('b.nd2');"
        "print(p)"
    )
    done = b.run(["python", "-c", script], env={"QT_QPA_PLATFORM": "offscreen"})
    assert done.returncode == 0, done.stderr
    log_file = Path(done.stdout.strip())
    assert stat.S_IMODE(log_file.stat().st_mode) == 0o600
    assert a.run(["cat", str(log_file)]).returncode != 0


# ---------------------------------------------------------------- single instance


_SQUAT = """
import os, socket, sys, time
name, seconds = sys.argv[1], float(sys.argv[2])
server = socket.socket(socket.AF_UNIX)
server.bind(name)
os.chmod(name, 0o777)  # the squatter lets anyone in
server.listen(5)
server.settimeout(0.2)
print("listening", flush=True)
got = b""
end = time.monotonic() + seconds
while time.monotonic() < end:
    try:
        conn, _ = server.accept()
    except TimeoutError:
        continue
    conn.settimeout(1)
    try:
        got += conn.recv(65536)
    except OSError:
        pass
    conn.close()
print("received", len(got), flush=True)
"""

_SERVE = """
import sys, time
from PySide6.QtCore import QCoreApplication
from almc_assistant.qt.single_instance import SingleInstance
app = QCoreApplication([])
s = SingleInstance(sys.argv[1])
got = []
s.message_received.connect(got.append)
assert s.listen()
print("listening", flush=True)
end = time.monotonic() + float(sys.argv[2])
while time.monotonic() < end and not got:
    app.processEvents()
    time.sleep(0.01)
print("received", len(got), flush=True)
"""

_FORWARD = """
import sys
from PySide6.QtCore import QCoreApplication
from almc_assistant.qt.single_instance import SingleInstance, server_name
app = QCoreApplication([])
name = sys.argv[1] if len(sys.argv) > 1 else server_name("/x")
print(name)
print(SingleInstance(name).forward({"paths": ["/data/b.nd2"]}))
"""


def _popen_as(who: Account, args: list[str], env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [_interpreter(), *args],
        user=who.uid,
        group=who.gid,
        extra_groups=[],
        env=who.env(env),
        cwd=who.home,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_another_users_instance_is_never_trusted_and_never_makes_the_app_exit(
    users: tuple[Account, Account], ws: Workstation
) -> None:
    a, b = users
    qt = {"QT_QPA_PLATFORM": "offscreen"}
    # A shares a runtime folder B can reach (a misconfigured XDG_RUNTIME_DIR) and
    # listens there first under the name B would use.
    shared_run = ws.root / "run"
    shared_run.mkdir(mode=0o777)
    shared_run.chmod(0o1777)
    squat = a.make_dir(shared_run / "almc-assistant", 0o777)
    name = str(squat / "b.sock")
    server = _popen_as(a, ["-c", _SQUAT, name, "4"], qt)
    try:
        assert server.stdout is not None and server.stdout.readline().strip() == "listening"
        # B's own choice of folder refuses A's: B's name is in B's private folder.
        mine = b.run(["python", "-c", _FORWARD], env={**qt, "XDG_RUNTIME_DIR": str(shared_run)})
        assert mine.returncode == 0, mine.stderr
        chosen, forwarded = mine.stdout.split()
        assert not chosen.startswith(str(squat)) and forwarded == "False"
        # Even handed A's socket, B sends nothing to it and goes on on its own.
        direct = b.run(["python", "-c", _FORWARD, name], env=qt)
        assert direct.returncode == 0, direct.stderr
        assert direct.stdout.split()[1] == "False"
        assert "held by another user's process" in direct.stderr
    finally:
        out, err = server.communicate(timeout=30)
    assert "received 0" in out, err


def test_the_same_users_second_launch_is_forwarded(
    users: tuple[Account, Account], ws: Workstation
) -> None:
    _, b = users
    qt = {"QT_QPA_PLATFORM": "offscreen"}
    name = str(b.home / "runtime" / "x.sock")
    server = _popen_as(b, ["-c", _SERVE, name, "20"], qt)
    try:
        assert server.stdout is not None and server.stdout.readline().strip() == "listening"
        done = b.run(["python", "-c", _FORWARD, name], env=qt)
        assert done.stdout.split()[1] == "True", done.stderr
    finally:
        out, err = server.communicate(timeout=30)
    assert "received 1" in out, err


if sys.platform != "linux":  # pragma: no cover
    pytest.skip("real accounts are created on Linux only", allow_module_level=True)
