"""Google Drive and OneDrive sign-in up to the browser hand-off, tokens kept private,
sign-out removing them; and their proof rules against a local stand-in.

No Google or Microsoft account is reachable here. Faked, exactly: (1) the token stored
after sign-in has the shape rclone records but was never issued by a provider; (2) the
"server" whose SHA-256 / QuickXorHash proves a copy is rclone's local backend (it hashes
the stored file on this disk) run under Drive's and OneDrive's proof rules.
"""

from __future__ import annotations

import json
import socket
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from almc_assistant.core.config import load_config
from almc_assistant.core.destination_backend import ProofKind
from almc_assistant.core.paths import AppPaths
from almc_assistant.core.remote.rclone_backend import RcloneBackend
from almc_assistant.core.remote.rclonebin import RcloneMissing
from almc_assistant.core.remote.signin import (
    SignInError,
    parse_token,
    sign_out,
    start_sign_in,
    store_token,
)
from almc_assistant.core.remote.spec import parse_remote
from tests.core.remote.helpers import send_file, source_file

CLIENT = "1234-almc-facility.apps.googleusercontent.com"
FAKE_TOKEN = json.dumps(
    {
        "access_token": "ya29.recorded-shape-not-real",
        "token_type": "Bearer",
        "refresh_token": "1//recorded-shape-not-real",
        "expiry": "2026-12-03T20:00:00Z",
    }
)


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


@pytest.mark.parametrize(
    ("backend", "host", "path"),
    [
        ("drive", "accounts.google.com", "/o/oauth2/auth"),
        ("onedrive", "login.microsoftonline.com", "/common/oauth2/v2.0/authorize"),
    ],
)
def test_sign_in_hands_the_provider_page_to_the_browser(backend: str, host: str, path: str):
    if not _port_free(53682):
        pytest.skip("127.0.0.1:53682 (rclone's sign-in port) is in use by another program")
    try:
        sign_in = start_sign_in(backend, CLIENT)
    except RcloneMissing as exc:
        pytest.skip(str(exc))
    try:
        assert sign_in.local_url.startswith("http://127.0.0.1:53682/auth?state=")
        url = urlsplit(sign_in.provider_url)
        query = parse_qs(url.query)
        assert (url.scheme, url.hostname, url.path) == ("https", host, path)
        assert query["client_id"] == [CLIENT]
        # the redirect comes back to rclone on this machine (OneDrive says "localhost")
        assert query["redirect_uri"][0] in ("http://127.0.0.1:53682/", "http://localhost:53682/")
        assert query["response_type"] == ["code"]
    finally:
        sign_in.cancel()


def test_sign_in_needs_the_facilitys_client_id() -> None:
    with pytest.raises(SignInError) as caught:
        start_sign_in("drive", "")
    assert "client id" in caught.value.next_step


def test_token_private_then_signed_out(daemon, rclone_config) -> None:
    out = f"Paste the following into your remote machine --->\n{FAKE_TOKEN}\n<---End paste\n"
    store_token(daemon, "mydrive", "drive", CLIENT, parse_token(out))

    text = rclone_config.path.read_text()
    assert "[mydrive]" in text and "recorded-shape-not-real" in text
    assert rclone_config.mode() == 0o600
    paths = AppPaths.default()
    assert not paths.user_config.exists() or "recorded" not in paths.user_config.read_text()
    assert all("recorded" not in str(p) for p in load_config(paths).problems)

    sign_out(daemon, "mydrive")

    text = rclone_config.path.read_text()
    assert "mydrive" not in text and "recorded-shape-not-real" not in text
    assert rclone_config.mode() == 0o600


def test_no_token_in_the_answer_is_a_clear_error() -> None:
    with pytest.raises(SignInError) as caught:
        parse_token("2026/12/03 NOTICE: Failed to get token: access_denied\n")
    assert "not give a sign-in token" in caught.value.detail


@pytest.mark.parametrize(
    ("rules", "proof", "algorithm"),
    [
        ("drive", ProofKind.SERVER_SHA256, "sha256"),
        ("onedrive", ProofKind.SERVER_QUICKXOR, "quickxor"),
    ],
)
def test_drive_and_onedrive_proof_rules_on_a_local_stand_in(
    daemon, tmp_path: Path, rules: str, proof: ProofKind, algorithm: str
) -> None:
    daemon.call(
        "config/create",
        name="standin",
        type="local",
        parameters={},
        opt={"nonInteractive": True},
    )
    root = tmp_path / "standin"
    dest = RcloneBackend(daemon, parse_remote(f"standin:{root}"), rules=rules).open()
    assert dest.wanted_digests() == frozenset({algorithm})
    src = source_file(tmp_path / "src", "a.nd2", 5 * 1760 + 11)

    digests, [outcome] = send_file(src, "a.nd2", [dest])

    assert outcome.verified, outcome.error
    assert outcome.proof is not None and outcome.proof.kind is proof
    assert outcome.proof.stored == digests.others[algorithm]
    assert (root / "a.nd2").read_bytes() == src.read_bytes()
