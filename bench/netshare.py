"""A network share stand-in: an SFTP server behind a real round-trip delay, mounted by sshfs.

Usage (as root; needs /dev/net/tun, /dev/fuse, ``ip``, ``gcc``, ``/usr/sbin/sshd``,
``sshfs``)::

    with NetShare(store, mountpoint, delay_ms=1.0) as share:
        ...  # files written under `mountpoint` travel to `store` over SFTP

    python bench/netshare.py --delay-ms 10 STORE MOUNTPOINT   # hold it open; Ctrl-C ends

What it builds (the kernel here has no ``netem``):

- a network namespace of its own (``almcns-PID``), with its loopback up;
- two tun devices joined by a small C forwarder (compiled once into a temporary folder)
  that holds each packet ``delay_ms`` in each direction: one device stays on the host
  (``10.213.N.1``), the other is moved into the namespace (``10.213.N.2``). TCP sees the
  real round trip (about 2 x delay + 0.3 ms); nothing else is shaped (no bandwidth cap,
  no loss). The MTU is 65,000 so that the forwarder handles few packets;
- ``sshd`` inside the namespace (its own host key, key-only login, ``internal-sftp``,
  serving ``store`` on the host's file system), reached over the delayed link;
- ``sshfs`` on the host (default options, like a user's mount: one SSH connection,
  no kernel cache, reads after a write go to the server) at ``mountpoint``.

Clean-up is always done, in reverse order, whatever fails (the mount is lazily
unmounted, sshfs (run in the foreground: its ssh in its process group), sshd and the
forwarder are ended by their process ids, the namespace is deleted; the tun devices
vanish with the forwarder). ``python bench/netshare.py --ping`` measures the round trip.

Thread contract: main thread only; a :class:`NetShare` is used by one thread.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import TracebackType

SSHD = Path("/usr/sbin/sshd")
SFTP_SERVER = Path("/usr/lib/openssh/sftp-server")  # with ``sftp_log`` only

FORWARDER_C = r"""
/* Delay forwarder between two tun devices: each packet is held DELAY_US microseconds. */
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#define MAXPKT 65536
#define MAXQ 65536 /* packets queued per direction; beyond that a packet is dropped */

struct pkt { struct pkt *next; int64_t due; int len; unsigned char data[]; };
struct queue { struct pkt *head, *tail; int n; };

static int64_t now_ns(void) {
    struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

static int open_tun(const char *name) {
    int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK);
    if (fd < 0) { perror("/dev/net/tun"); exit(2); }
    struct ifreq ifr; memset(&ifr, 0, sizeof ifr);
    ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
    strncpy(ifr.ifr_name, name, IFNAMSIZ - 1);
    if (ioctl(fd, TUNSETIFF, &ifr) < 0) { perror("TUNSETIFF"); exit(2); }
    return fd;
}

int main(int argc, char **argv) {
    if (argc != 4) { fprintf(stderr, "usage: fwd TUN_A TUN_B DELAY_US\n"); return 2; }
    int fd[2] = { open_tun(argv[1]), open_tun(argv[2]) };
    int64_t delay = (int64_t)atol(argv[3]) * 1000;
    struct queue q[2] = { {0}, {0} }; /* q[i]: read from fd[i], to be written to fd[1-i] */
    printf("ready\n"); fflush(stdout);
    unsigned char buf[MAXPKT];
    for (;;) {
        int64_t t = now_ns(), wait = -1;
        for (int i = 0; i < 2; i++) {
            while (q[i].head && q[i].head->due <= t) {
                struct pkt *p = q[i].head;
                if (write(fd[1 - i], p->data, p->len) < 0 && errno == EAGAIN) break;
                q[i].head = p->next; if (!q[i].head) q[i].tail = NULL;
                q[i].n--; free(p);
            }
            if (q[i].head) {
                int64_t w = q[i].head->due - t;
                if (w < 0) w = 0;
                if (wait < 0 || w < wait) wait = w;
            }
        }
        struct pollfd pf[2] = { { fd[0], POLLIN, 0 }, { fd[1], POLLIN, 0 } };
        struct timespec ts = { wait / 1000000000, wait % 1000000000 };
        if (ppoll(pf, 2, wait < 0 ? NULL : &ts, NULL) < 0 && errno != EINTR) {
            perror("ppoll"); return 1;
        }
        t = now_ns();
        for (int i = 0; i < 2; i++) {
            if (!(pf[i].revents & POLLIN)) continue;
            for (;;) {
                ssize_t n = read(fd[i], buf, sizeof buf);
                if (n <= 0) break;
                if (q[i].n >= MAXQ) continue;
                struct pkt *p = malloc(sizeof *p + n);
                p->next = NULL; p->due = t + delay; p->len = (int)n;
                memcpy(p->data, buf, n);
                if (q[i].tail) q[i].tail->next = p; else q[i].head = p;
                q[i].tail = p; q[i].n++;
            }
        }
    }
}
"""


class NetShareError(RuntimeError):
    """The stand-in could not be built (what failed, and the tool's own words)."""


def _run(argv: list[str], what: str) -> str:
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise NetShareError(f"{what} failed ({' '.join(argv)}): {done.stderr.strip()}")
    return done.stdout


def _mounted(mnt: Path) -> bool:
    with open("/proc/self/mountinfo", encoding="utf-8") as f:
        return any(line.split()[4] == str(mnt) for line in f)


def missing_requirements() -> list[str]:
    """What this machine lacks for the stand-in (empty when it can be built)."""
    if sys.platform == "win32":
        return ["Linux (network namespaces, tun devices, FUSE mounts)"]
    lacks = []
    if os.geteuid() != 0:
        lacks.append("root (network namespaces, tun devices, FUSE mounts)")
    for dev in ("/dev/net/tun", "/dev/fuse"):
        if not Path(dev).exists():
            lacks.append(dev)
    for tool in ("ip", "gcc", "sshfs", "ssh-keygen", "fusermount"):
        if shutil.which(tool) is None:
            lacks.append(tool)
    if not SSHD.exists():
        lacks.append(str(SSHD) + " (apt-get install openssh-server)")
    return lacks


def _end(proc: subprocess.Popen[bytes]) -> None:
    """End ``proc`` and its process group (started with ``start_new_session``)."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    with contextlib.suppress(ProcessLookupError):  # what is left of its group (its ssh)
        os.killpg(proc.pid, signal.SIGTERM)


class NetShare:
    """The stand-in, built on ``__enter__`` and torn down on ``__exit__``."""

    def __init__(
        self,
        store: Path,
        mountpoint: Path,
        *,
        delay_ms: float,
        sftp_log: bool = False,
        sshfs_options: str = "",
    ) -> None:
        """``sftp_log``: the SFTP server logs every request (``-l DEBUG3``) for
        :meth:`server_log` (a profile: counts requests; it costs the server time).
        ``sshfs_options``: more ``-o`` options for sshfs (profiles of other mounts; the
        benchmarks keep sshfs's defaults)."""
        self.store = store.resolve()
        self.sftp_log = sftp_log
        self.sshfs_options = sshfs_options
        self.mountpoint = mountpoint.resolve()
        self.delay_ms = delay_ms
        n = os.getpid() % 250 + 1
        self.netns = f"almcns-{os.getpid()}"
        self.tun_host, self.tun_ns = f"almc{n}h", f"almc{n}n"
        self.host_ip, self.ns_ip = f"10.213.{n}.1", f"10.213.{n}.2"
        self._tmp: Path | None = None
        self._forwarder: subprocess.Popen[bytes] | None = None
        self._sshd: subprocess.Popen[bytes] | None = None
        self._sshfs: subprocess.Popen[bytes] | None = None
        self._netns_made = False
        self._made_mountpoint = False

    # -- building
    def __enter__(self) -> NetShare:
        lacks = missing_requirements()
        if lacks:
            raise NetShareError("the network share stand-in needs " + ", ".join(lacks))
        try:
            self._tmp = Path(tempfile.mkdtemp(prefix="almc-netshare-"))
            self._start_forwarder()
            self._make_namespace()
            self._start_sshd()
            self._mount()
        except BaseException:
            self.close()
            raise
        return self

    def _start_forwarder(self) -> None:
        assert self._tmp is not None
        src, exe = self._tmp / "fwd.c", self._tmp / "fwd"
        src.write_text(FORWARDER_C)
        _run(["gcc", "-O2", "-o", str(exe), str(src)], "compiling the delay forwarder")
        delay_us = str(round(self.delay_ms * 1000))
        self._forwarder = subprocess.Popen(
            [str(exe), self.tun_host, self.tun_ns, delay_us],
            stdout=subprocess.PIPE,
            start_new_session=True,
        )
        assert self._forwarder.stdout is not None
        if self._forwarder.stdout.readline().strip() != b"ready":
            raise NetShareError("the delay forwarder did not start (see its error above)")

    def _make_namespace(self) -> None:
        ns = self.netns
        _run(["ip", "netns", "add", ns], "creating the network namespace")
        self._netns_made = True
        host, inner = self.tun_host, self.tun_ns
        for argv in (
            ["ip", "link", "set", inner, "netns", ns],
            ["ip", "addr", "add", self.host_ip, "peer", self.ns_ip, "dev", host],
            ["ip", "link", "set", host, "mtu", "65000", "up"],
            ["ip", "-n", ns, "addr", "add", self.ns_ip, "peer", self.host_ip, "dev", inner],
            ["ip", "-n", ns, "link", "set", inner, "mtu", "65000", "up"],
            ["ip", "-n", ns, "link", "set", "lo", "up"],
        ):
            _run(argv, "setting up the delayed link")

    def _start_sshd(self) -> None:
        assert self._tmp is not None
        keys = self._tmp
        for name in ("host", "user"):
            _run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(keys / name)], "keygen")
        shutil.copy(keys / "user.pub", keys / "authorized_keys")
        config = keys / "sshd_config"
        config.write_text(
            f"Port 22\nListenAddress {self.ns_ip}\nHostKey {keys / 'host'}\n"
            f"PidFile {keys / 'sshd.pid'}\nAuthorizedKeysFile {keys / 'authorized_keys'}\n"
            "StrictModes no\nUsePAM no\nPermitRootLogin prohibit-password\n"
            "PasswordAuthentication no\nKbdInteractiveAuthentication no\n" + self._subsystem()
        )
        Path("/run/sshd").mkdir(exist_ok=True)  # sshd's privilege-separation folder
        with open(keys / "sshd.log", "wb") as log:  # the child keeps its own descriptor
            self._sshd = subprocess.Popen(
                ["ip", "netns", "exec", self.netns, str(SSHD), "-D", "-e", "-f", str(config)],
                stdout=subprocess.DEVNULL,
                stderr=log,
                start_new_session=True,
            )

    def _subsystem(self) -> str:
        if not self.sftp_log:
            return "Subsystem sftp internal-sftp\n"
        # a subsystem's standard error is dropped by sshd, and the log would need a
        # syslog: the same server code as a program, its log redirected by the shell
        assert self._tmp is not None
        return f"Subsystem sftp {SFTP_SERVER} -e -l DEBUG3 2>>{self._tmp / 'sftp.log'}\n"

    def _mount(self) -> None:
        assert self._tmp is not None
        self.store.mkdir(parents=True, exist_ok=True)
        if not self.mountpoint.exists():
            self.mountpoint.mkdir(parents=True)
            self._made_mountpoint = True
        opts = f"IdentityFile={self._tmp / 'user'},StrictHostKeyChecking=no,"
        opts += "UserKnownHostsFile=/dev/null,BatchMode=yes"
        if self.sshfs_options:
            opts += "," + self.sshfs_options
        err = ""
        log = self._tmp / "sshfs.log"
        remote = f"root@{self.ns_ip}:{self.store}"
        for _ in range(100):  # until sshd accepts
            # in the foreground (-f, the same mount otherwise): its process id is ours to
            # end, with its ssh (one process group), once unmounted
            with open(log, "wb") as errors:
                proc = subprocess.Popen(
                    ["sshfs", "-f", "-o", opts, remote, str(self.mountpoint)],
                    stdout=subprocess.DEVNULL,
                    stderr=errors,
                    start_new_session=True,
                )
            deadline = time.monotonic() + 10
            while proc.poll() is None and time.monotonic() < deadline:
                if _mounted(self.mountpoint):
                    self._sshfs = proc
                    return
                time.sleep(0.05)
            _end(proc)
            err = log.read_text(errors="replace").strip()
            if self._sshd is not None and self._sshd.poll() is not None:
                break
            time.sleep(0.1)
        raise NetShareError(f"sshfs could not mount the stand-in: {err}")

    # -- using
    def rtt_ms(self, count: int = 5) -> float:
        """Median TCP connect round trip to the server, in milliseconds."""
        import socket

        times = []
        for _ in range(count):
            t0 = time.perf_counter()
            with socket.create_connection((self.ns_ip, 22), timeout=5):
                times.append((time.perf_counter() - t0) * 1000)
        return sorted(times)[len(times) // 2]

    def link_counters(self) -> tuple[int, int]:
        """Bytes (to the server, from the server) over the link so far: what was written
        there, and what was read from there (a read-back that crossed the link)."""
        out = _run(["ip", "-n", self.netns, "-s", "link", "show", self.tun_ns], "ip -s link")
        rx = re.search(r"RX:.*\n\s*(\d+)", out)
        tx = re.search(r"TX:.*\n\s*(\d+)", out)
        return (int(rx.group(1)) if rx else 0, int(tx.group(1)) if tx else 0)

    def server_log(self) -> str:
        """What the SFTP server logged so far (``sftp_log``: every request)."""
        assert self._tmp is not None
        log = self._tmp / "sftp.log"
        return log.read_text(errors="replace") if log.exists() else ""

    # -- tearing down
    def close(self) -> None:
        """Undo everything built so far; never raises."""
        if _mounted(self.mountpoint):
            subprocess.run(["fusermount", "-u", "-z", str(self.mountpoint)], capture_output=True)
        for proc in (self._sshfs, self._sshd, self._forwarder):
            if proc is not None:
                _end(proc)
        if self._forwarder is not None and self._forwarder.stdout is not None:
            self._forwarder.stdout.close()
        self._sshfs = self._sshd = self._forwarder = None
        if self._netns_made:
            subprocess.run(["ip", "netns", "del", self.netns], capture_output=True)
            self._netns_made = False
        if self._made_mountpoint and not _mounted(self.mountpoint):
            with contextlib.suppress(OSError):
                self.mountpoint.rmdir()  # only if empty: never anything written there
            self._made_mountpoint = False
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("store", type=Path, help="the server's folder (on this machine's disk)")
    p.add_argument("mountpoint", type=Path, help="where sshfs mounts it")
    p.add_argument("--delay-ms", type=float, default=1.0, help="delay each way (default 1)")
    p.add_argument("--ping", action="store_true", help="print the round trip and exit")
    args = p.parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        with NetShare(args.store, args.mountpoint, delay_ms=args.delay_ms) as share:
            print(f"mounted {share.mountpoint}; TCP round trip {share.rtt_ms():.2f} ms")
            if not args.ping:
                print("Ctrl-C ends it (unmounts, stops sshd, deletes the namespace)")
                signal.pause()
    except NetShareError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
