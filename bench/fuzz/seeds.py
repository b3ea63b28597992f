"""Seed folders for the fuzzer: its working corpus, generated seeds and the shared corpus.

Thread contract: runs once at fuzzer start, on the calling thread.

The shared corpus (``../shared/corpus/files``) and the tests' real files are only read,
never copied. Generated seeds are small synthetic files of every format the walkers know
(``tests.core.inspect.samples``) and their cut-off variants, written under ``bench/out``
(ignored by git); libFuzzer adds what it finds to ``bench/out/fuzz-seeds/work``.
"""

from __future__ import annotations

import os
from pathlib import Path

from tests.core.inspect import samples
from tests.core.inspect.conftest import corpus_location

_ROOT = Path(__file__).resolve().parents[2]


def out_dir() -> Path:
    return Path(os.environ.get("ALMC_FUZZ_SEEDS", _ROOT / "bench" / "out" / "fuzz-seeds"))


def seed_dirs() -> list[Path]:
    out = out_dir()
    work, generated = out / "work", out / "generated"
    work.mkdir(parents=True, exist_ok=True)
    generated.mkdir(parents=True, exist_ok=True)
    for name, data in samples.all_samples().items():
        (generated / name).write_bytes(data)
        (generated / f"cut-{name}").write_bytes(data[: len(data) * 2 // 3])
    dirs = [work, generated, _ROOT / "tests" / "core" / "inspect" / "data" / "real"]
    corpus = corpus_location()
    if corpus is not None:
        dirs.append(corpus / "files")
    return dirs
