"""The two-account fixture itself: real accounts, real permissions (root on Linux only)."""

from __future__ import annotations

from pathlib import Path

from tests.multiuser import Account


def test_each_account_runs_the_cli_and_cannot_read_the_other(
    users: tuple[Account, Account], shared_root: Path
) -> None:
    a, b = users
    private = b.make_dir(shared_root / "b-data", 0o700)
    b.write(private / "secret.nd2", b"b's data")
    seen_by_b = b.run(["cat", str(private / "secret.nd2")])
    assert seen_by_b.returncode == 0 and seen_by_b.stdout == "b's data"
    seen_by_a = a.run(["cat", str(private / "secret.nd2")])
    assert seen_by_a.returncode != 0 and "Permission denied" in seen_by_a.stderr
    version = a.run(["almc-assistant", "--version"])
    assert version.returncode == 0, version.stderr
    assert "almc-assistant" in version.stdout
    assert a.run(["id", "-u"]).stdout.strip() == str(a.uid)
