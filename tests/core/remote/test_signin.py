"""Google Drive and OneDrive sign-in up to the browser hand-off (on a free loopback
port, with rclone's fixed 53682 taken), tokens kept private, sign-out removing them;
and their proof rules against a local stand-in.

No Google or Microsoft account is reachable here. Faked, exactly: (1) the browser's
return after consent (an HTTP GET to our port, as the browser would send it) and the
provider's token endpoint (a small server on loopback); the token stored has the shape
rclone records but was never issued by a provider; (2) the
"server" whose SHA-256 / QuickXorHash proves a copy is rclone's local backend (it hashes
the stored file on this disk) run under Drive's and OneDrive's proof rules; (3)
Microsoft Graph's ``me/drive`` answer (the drive id and type stored for OneDrive), with
the shape Graph documents.
"""

from __future__ import annotations

import http.server
import json
import socket
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import ClassVar
from urllib.parse import parse_qs, urlsplit

import pytest

from almc_assistant.core.config import load_config
from almc_assistant.core.destination_backend import ProofKind
from almc_assistant.core.paths import AppPaths
from almc_assistant.core.remote.rclone_backend import RcloneBackend
from almc_assistant.core.remote.signin import (
    PROVIDERS,
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


@pytest.fixture
def rclone_port_taken() -> Iterator[None]:
    """127.0.0.1:53682 (rclone's own fixed sign-in port) held, as another account's
    stuck sign-in would on a shared workstation."""
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", 53682))
            s.listen()
        except OSError:
            pass  # held by someone else already: the same situation
        yield


@pytest.mark.parametrize(
    ("backend", "host", "path", "redirect_host"),
    [
        ("drive", "accounts.google.com", "/o/oauth2/auth", "127.0.0.1"),
        ("onedrive", "login.microsoftonline.com", "/common/oauth2/v2.0/authorize", "localhost"),
    ],
)
@pytest.mark.usefixtures("rclone_port_taken")
def test_sign_in_hands_the_provider_page_to_the_browser_on_a_free_port(
    backend: str, host: str, path: str, redirect_host: str
):
    sign_in = start_sign_in(backend, CLIENT)
    try:
        assert sign_in.port not in (0, 53682)
        url = urlsplit(sign_in.provider_url)
        query = parse_qs(url.query)
        assert (url.scheme, url.hostname, url.path) == ("https", host, path)
        assert query["client_id"] == [CLIENT]
        assert query["redirect_uri"] == [f"http://{redirect_host}:{sign_in.port}/"]
        assert query["response_type"] == ["code"]
        assert query["code_challenge_method"] == ["S256"] and query["state"][0]
        # our loopback port answers (the browser comes back there)
        assert not _port_free(sign_in.port)
    finally:
        sign_in.cancel()
    assert _port_free(sign_in.port), "cancel closes the port"


def send_json(handler: http.server.BaseHTTPRequestHandler, status: int, doc: object) -> None:
    body = json.dumps(doc).encode()
    handler.send_response(status)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)


class TokenStandIn(http.server.BaseHTTPRequestHandler):
    """The provider's token endpoint, on loopback (no provider is reachable here)."""

    seen: ClassVar[list[dict[str, str]]] = []

    def do_POST(self) -> None:
        length = int(self.headers["Content-Length"])
        form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
        TokenStandIn.seen.append(form)
        answer = {"access_token": "ya29.stand-in", "refresh_token": "1//stand-in"}
        send_json(self, 200, {**answer, "expires_in": 3599})

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.mark.usefixtures("rclone_port_taken")
def test_the_browser_comes_back_and_the_token_is_stored_privately(daemon, rclone_config) -> None:
    server = http.server.HTTPServer(("127.0.0.1", 0), TokenStandIn)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    provider = replace(
        PROVIDERS["drive"], token_url=f"http://127.0.0.1:{server.server_address[1]}/token"
    )
    try:
        sign_in = start_sign_in("drive", CLIENT, provider=provider)
        state = parse_qs(urlsplit(sign_in.provider_url).query)["state"][0]
        # a link that is not this sign-in's (wrong state) is refused and changes nothing
        with pytest.raises(urllib.error.HTTPError):
            urllib.request.urlopen(f"{sign_in.redirect_uri}?code=evil&state=other", timeout=10)
        # the browser comes back after consent
        with urllib.request.urlopen(
            f"{sign_in.redirect_uri}?code=the-code&state={state}", timeout=10
        ) as page:
            assert b"Signed in" in page.read()
        sign_in.finish(daemon, "mydrive", timeout=30)
    finally:
        server.shutdown()
        server.server_close()

    [form] = TokenStandIn.seen
    assert form["code"] == "the-code" and form["client_id"] == CLIENT
    assert form["redirect_uri"] == sign_in.redirect_uri and form["code_verifier"]
    text = rclone_config.path.read_text()
    assert "[mydrive]" in text and "ya29.stand-in" in text
    assert rclone_config.mode() == 0o600
    paths = AppPaths.default()
    assert not paths.user_config.exists() or "stand-in" not in paths.user_config.read_text()


def test_a_refused_consent_is_a_clear_error() -> None:
    sign_in = start_sign_in("onedrive", CLIENT)
    state = parse_qs(urlsplit(sign_in.provider_url).query)["state"][0]
    with urllib.request.urlopen(
        f"{sign_in.redirect_uri}?error=access_denied&state={state}", timeout=10
    ):
        pass
    with pytest.raises(SignInError) as caught:
        sign_in.wait_code(10)
    sign_in.cancel()
    assert "access_denied" in caught.value.detail
    assert "staff" in caught.value.next_step


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


class MicrosoftStandIn(http.server.BaseHTTPRequestHandler):
    """Microsoft's token endpoint and Graph's ``me/drive``, on loopback (no Microsoft
    account is reachable here): the drive answer has the shape Graph documents.
    ``drive`` is what ``me/drive`` answers (``None``: HTTP 401)."""

    drive: ClassVar[dict[str, object] | None] = None
    bearer: ClassVar[list[str]] = []

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        send_json(self, 200, {"access_token": "EwB.stand-in", "refresh_token": "M.R3.stand-in"})

    def do_GET(self) -> None:
        MicrosoftStandIn.bearer.append(self.headers.get("Authorization", ""))
        if self.path != "/v1.0/me/drive" or self.drive is None:
            send_json(self, 401, {"error": {"code": "InvalidAuthenticationToken"}})
            return
        send_json(self, 200, self.drive)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def microsoft() -> Iterator[object]:
    server = http.server.HTTPServer(("127.0.0.1", 0), MicrosoftStandIn)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    MicrosoftStandIn.bearer.clear()
    yield replace(PROVIDERS["onedrive"], token_url=f"{base}/token", drive_url=f"{base}/v1.0")
    server.shutdown()
    server.server_close()


def _come_back(sign_in) -> None:
    state = parse_qs(urlsplit(sign_in.provider_url).query)["state"][0]
    with urllib.request.urlopen(f"{sign_in.redirect_uri}?code=c&state={state}", timeout=10):
        pass


def test_onedrive_sign_in_stores_the_accounts_drive(daemon, rclone_config, microsoft) -> None:
    """After the token, the account's drive is asked of Graph (``me/drive``) as rclone's
    own configuration does: its id and type are stored with the token (rclone's OneDrive
    backend needs both)."""
    MicrosoftStandIn.drive = {"id": "b!Xy-12_ab", "driveType": "business", "name": "OneDrive"}
    sign_in = start_sign_in("onedrive", CLIENT, provider=microsoft)
    _come_back(sign_in)
    sign_in.finish(daemon, "od", timeout=30)

    assert MicrosoftStandIn.bearer == ["Bearer EwB.stand-in"]
    remote = daemon.call("config/get", name="od")
    assert remote["type"] == "onedrive"
    assert (remote["drive_id"], remote["drive_type"]) == ("b!Xy-12_ab", "business")


@pytest.mark.parametrize(
    ("drive", "said"),
    [
        (None, "did not give this account's OneDrive (HTTP 401)"),
        ({"id": "b!1", "driveType": "somethingelse"}, "without a OneDrive this app can use"),
        ({"driveType": "personal"}, "without a OneDrive this app can use"),
    ],
)
def test_onedrive_without_a_usable_drive_is_a_clear_error(
    daemon, rclone_config, microsoft, drive, said
) -> None:
    MicrosoftStandIn.drive = drive
    sign_in = start_sign_in("onedrive", CLIENT, provider=microsoft)
    _come_back(sign_in)
    with pytest.raises(SignInError) as caught:
        sign_in.finish(daemon, "od", timeout=30)
    assert said in caught.value.detail and "127.0.0.1" in caught.value.detail
    assert "Sign in again" in caught.value.next_step
    assert "[od]" not in rclone_config.path.read_text()  # nothing half set up
