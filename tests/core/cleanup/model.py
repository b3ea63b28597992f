"""A model-based test of "no byte of user data ever disappears" (issue 9).

A hypothesis state machine drives a real :class:`Service` (the one the CLI uses) on real
folders: as root each disk is its own tmpfs (acquisition disk, an institutional share,
two USB drives); otherwise plain folders on one disk (then nothing is ever independent
and cleanup must delete nothing). Rules: acquire, modify (including same-size edits with
the mtime restored), copy through the service's copy job, two copies at once, corrupt a
copy, replace a copy by a link to its source, unmount a destination, and cleanup
``--apply`` (plan and apply, as ``almc-assistant cleanup --apply`` does).

Invariants after every step:

- every source not deleted by cleanup is there with exactly the bytes the model wrote;
- every source cleanup deleted has, at that moment, a regular-file copy with exactly its
  bytes on a device other than the acquisition disk (on the institutional share, or on
  two distinct devices, as the policy asks);
- every copy the copy job called verified held exactly the bytes its source had.

Used by ``tests/core/cleanup/test_model.py`` (a short run) and ``bench/model_cleanup.py``.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path

from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from almc_assistant.core.events import ListSink
from almc_assistant.core.paths import AppPaths
from almc_assistant.core.policy import DAY
from almc_assistant.core.service import Service
from almc_assistant.core.transfer import CopyVerified
from tests.disks import mount_tmpfs, unmount
from tests.portable import IS_ROOT

NAMES = st.sampled_from(["a.nd2", "b.nd2", "run/c.nd2", "run/d.tif"])
DESTS = st.sampled_from(["bit", "usb1", "usb2"])
DATA = st.binary(min_size=1, max_size=3000)
# Which file or copy a rule acts on: an index into the current list (the list's length
# depends on the real run, so draw a number and wrap it rather than a choice).
PICK = st.integers(min_value=0, max_value=1 << 16)
STEPS: dict[str, int] = {"count": 0, "deleted": 0, "kept": 0, "verified": 0}  # bench report


def _pick(items: list[Path], index: int) -> Path:
    return items[index % len(items)]


def _step() -> None:
    import sys

    STEPS["count"] += 1
    name = sys._getframe(1).f_code.co_name
    STEPS[f"rule {name}"] = STEPS.get(f"rule {name}", 0) + 1


class CleanupModel(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.base = Path(tempfile.mkdtemp(prefix="almc-model-"))
        self.root = IS_ROOT
        self.mounted: list[Path] = []
        self.acq_disk = self._disk("acqdisk")
        self.acq = self.acq_disk / "data"
        self.acq.mkdir()
        self.dests = {name: self._disk(name) for name in ("bit", "usb1", "usb2")}
        self.paths = AppPaths.under(self.base / "home").ensure()
        self.paths.facility_config.write_text(self._facility())
        self.now = [time.time()]
        self.sink = ListSink()
        self.service = Service(self.paths, self.sink, clock=lambda: self.now[0])
        self.sources: dict[Path, bytes] = {}  # what the user has, by the model
        self.verified: dict[Path, bytes] = {}  # copies called verified -> source bytes then
        self.checked_events = 0

    # ------------------------------------------------------------------ setup
    def _disk(self, name: str) -> Path:
        path = self.base / name
        path.mkdir()
        if self.root:
            self.mounted.append(mount_tmpfs(path, "32m"))
        return path

    def _facility(self) -> str:
        lines = [
            "[watch]",
            f"folders = [{str(self.acq)!r}]",
            "quiet_seconds = 1",
            "[retention]",
            "max_age_days = 30",
        ]
        kinds = {"bit": "institutional", "usb1": "external_drive", "usb2": "external_drive"}
        for name, path in self.dests.items():
            lines += [
                "[[destinations]]",
                f"name = {name!r}",
                f"path = {str(path)!r}",
                f"kind = {kinds[name]!r}",
            ]
        return "\n".join(lines) + "\n"

    def teardown(self) -> None:
        self.service.stop()
        for mnt in reversed(self.mounted):
            unmount(mnt)
        shutil.rmtree(self.base, ignore_errors=True)

    # ------------------------------------------------------------------ rules
    def _write(self, path: Path, data: bytes) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        old = time.time() - 3600  # quiet by the wall clock: the watcher records it complete
        os.utime(path, (old, old))
        self.sources[path] = data

    @rule(name=NAMES, data=DATA)
    def acquire(self, name: str, data: bytes) -> None:
        _step()
        self._write(self.acq / name, data)
        self.service.scan_once()

    @precondition(lambda self: bool(self.sources))
    @rule(pick=PICK, data=DATA, same_size=st.booleans())
    def modify(self, pick: int, data: bytes, same_size: bool) -> None:
        _step()
        path = _pick(sorted(self.sources), pick)
        if not same_size:
            self._write(path, data)
        else:  # same size, mtime restored: only ctime and the bytes tell
            old = self.sources[path]
            new = bytes(b ^ 0xFF for b in old[:1]) + old[1:]
            st_ = path.stat()
            with path.open("r+b") as f:
                f.write(new[:1])
            os.utime(path, ns=(st_.st_atime_ns, st_.st_mtime_ns))
            self.sources[path] = new
        self.service.scan_once()

    def _copy(self, paths: list[Path], dest: str) -> None:
        expected = {p: self.sources[p] for p in paths}
        job = self.service.start_copy(paths, [self.dests[dest]])
        assert job.wait(60) is not None
        self.service.recorder.flush()
        self._check_new_verified(expected)

    def _check_new_verified(self, expected: dict[Path, bytes]) -> None:
        events = self.sink.of_type(CopyVerified)
        for e in events[self.checked_events :]:
            path = Path(e.copy.path)  # a local destination
            data = path.read_bytes()
            assert data == expected[e.copy.source], f"{path} called verified, other bytes"
            self.verified[path] = data
            STEPS["verified"] += 1
        self.checked_events = len(events)

    @precondition(lambda self: bool(self.sources))
    @rule(pick=PICK, dest=DESTS)
    def copy(self, pick: int, dest: str) -> None:
        _step()
        self._copy([_pick(sorted(self.sources), pick)], dest)

    @precondition(lambda self: bool(self.sources))
    @rule(dest=DESTS)
    def back_up_everything(self, dest: str) -> None:
        _step()
        self._copy(sorted(self.sources), dest)

    @precondition(lambda self: len(self.sources) >= 1)
    @rule(pick=PICK, other=PICK, d1=DESTS, d2=DESTS)
    def concurrent_copy(self, pick: int, other: int, d1: str, d2: str) -> None:
        _step()
        srcs = sorted(self.sources)
        a = _pick(srcs, pick)
        b = _pick(srcs, other)
        expected = {p: self.sources[p] for p in (a, b)}
        jobs = [
            self.service.start_copy([a], [self.dests[d1]]),
            self.service.start_copy([b], [self.dests[d2]]),
        ]
        for job in jobs:
            assert job.wait(60) is not None
        self.service.recorder.flush()
        self._check_new_verified(expected)

    def _copies_on_disk(self) -> list[Path]:
        return sorted(p for p in self.verified if p.is_file() and not p.is_symlink())

    @precondition(lambda self: bool(self._copies_on_disk()))
    @rule(pick=PICK)
    def corrupt_a_copy(self, pick: int) -> None:
        _step()
        copy = _pick(self._copies_on_disk(), pick)
        st_ = copy.stat()
        data = bytearray(copy.read_bytes())
        data[len(data) // 2] ^= 0x55
        copy.write_bytes(bytes(data))
        os.utime(copy, ns=(st_.st_atime_ns, st_.st_mtime_ns))

    @precondition(lambda self: bool(self._copies_on_disk()) and bool(self.sources))
    @rule(pick=PICK, other=PICK)
    def replace_a_copy_by_a_link(self, pick: int, other: int) -> None:
        _step()
        copy = _pick(self._copies_on_disk(), pick)
        target = _pick(sorted(self.sources), other)
        copy.unlink()
        copy.symlink_to(target)

    @precondition(lambda self: any(self.dests[d] in self.mounted for d in ("usb1", "usb2")))
    @rule()
    def unmount_a_destination(self) -> None:
        _step()
        path = next(self.dests[d] for d in ("usb1", "usb2") if self.dests[d] in self.mounted)
        unmount(path)
        self.mounted.remove(path)

    @precondition(lambda self: bool(self.sources))
    @rule()
    def cleanup_apply(self) -> None:
        _step()
        self.now[0] += 40 * DAY  # every file is a candidate by age
        plan = self.service.plan_cleanup()
        result = self.service.apply_cleanup(plan)
        acq_dev = self.acq_disk.stat().st_dev
        STEPS["deleted"] += len(result.deleted)
        STEPS["kept"] += len(result.kept)
        for outcome in result.deleted:
            data = self.sources.pop(outcome.path)
            devices = set()
            for copy in self.verified:
                if copy.is_symlink() or not copy.is_file() or copy.read_bytes() != data:
                    continue
                dev = copy.stat().st_dev
                if dev != acq_dev:
                    devices.add((dev, copy.is_relative_to(self.dests["bit"])))
            assert devices, f"{outcome.path} deleted without an identical independent copy"
            assert any(bit for _, bit in devices) or len(devices) >= 2, outcome.path

    # ------------------------------------------------------------------ invariants
    @invariant()
    def no_source_lost(self) -> None:
        for path, data in self.sources.items():
            assert path.read_bytes() == data, f"{path} changed or disappeared"
