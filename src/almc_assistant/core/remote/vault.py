"""Where the secrets of remote destinations live: the user's rclone.conf, encrypted by
rclone with a password the OS keyring keeps, or (no keyring) private to the account.

Thread contract: every function may block (the keyring may ask the desktop, rclone runs
once); call them from a worker, never the GUI thread. One thread at a time per config.

- **A keyring is there** (Windows Credential Manager, macOS Keychain, the Secret Service
  of a Linux desktop: the ``keyring`` library finds it): the first time a remote is set
  up, a random password is stored in the keyring and rclone encrypts the whole config
  with it (``rclone config encryption set``). The rclone helper gets it through its
  environment (``RCLONE_CONFIG_PASS``: readable by this account only, never on a command
  line) and writes every later change encrypted.
- **No keyring** (a headless Linux machine, CI, a desktop without a Secret Service):
  rclone.conf stays unencrypted in the user's own 0700 folder, 0600: passwords obscured
  by rclone (reversible: not encryption), an S3 secret key as it is (rclone does not
  obscure it). Anyone who can read the file as this account can recover them. Settings
  says so in these words (:data:`FILE_WORDS`); nothing is written anywhere else.

An encrypted config whose password the keyring no longer gives is a clear error naming
the file and what to do, never a prompt on a terminal nobody sees.
"""

from __future__ import annotations

import logging
import os
import secrets
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from almc_assistant.core.errors import AlmcError

log = logging.getLogger(__name__)

KEYRING_SERVICE = "almc-assistant"
KEYRING_USER = "rclone-config"
_MARK = "RCLONE_ENCRYPT_V0:"
_NEW_PASS_VAR = "ALMC_RCLONE_NEW_PASS"

KEYRING_WORDS = (
    "Passwords and keys are kept in your rclone settings, encrypted with a password "
    "held by this computer's keyring (your account only)."
)
FILE_WORDS = (
    "This computer has no keyring: passwords and keys are kept in your private rclone "
    "settings file, readable by your account only but not encrypted."
)


@dataclass(frozen=True, slots=True)
class SecretStore:
    """Where this account's remote secrets are kept (plain data for the front ends)."""

    encrypted: bool
    words: str
    file: str


def is_encrypted(config: Path) -> bool:
    try:
        with open(config, encoding="utf-8", errors="replace") as f:
            return _MARK in f.read(4096)
    except FileNotFoundError:
        return False


def _keyring() -> Any | None:
    """The ``keyring`` module when it has a usable backend here, else ``None``."""
    try:
        import keyring
        from keyring.backends import fail
    except ImportError:
        return None
    try:
        backend = keyring.get_keyring()
    except Exception as exc:  # a broken backend configuration: as if there were none
        log.info("no keyring: %s", type(exc).__name__)
        return None
    return None if isinstance(backend, fail.Keyring) else keyring


def _stored_password(kr: Any) -> str | None:
    try:
        value = kr.get_password(KEYRING_SERVICE, KEYRING_USER)
    except Exception as exc:  # locked, refused, gone: the caller says what to do
        log.info("keyring did not give the rclone password: %s", type(exc).__name__)
        return None
    return str(value) if value else None


def store(config: Path) -> SecretStore:
    """Where secrets are kept for ``config`` now, without changing anything."""
    if is_encrypted(config):
        return SecretStore(True, KEYRING_WORDS, str(config))
    return SecretStore(False, FILE_WORDS, str(config))


def daemon_env(config: Path) -> dict[str, str]:
    """What the rclone helper needs in its environment to read ``config``."""
    if not is_encrypted(config):
        return {}
    kr = _keyring()
    password = _stored_password(kr) if kr is not None else None
    if not password:
        raise AlmcError(
            f"Your remote destinations' settings ({config}) are encrypted, but this "
            "computer's keyring does not give their password now.",
            title="Remote destinations locked",
            next_step="Log in to the desktop so that the keyring opens, then try again; "
            "if the keyring was reset, remove that file and set the remotes up again.",
        )
    return {"RCLONE_CONFIG_PASS": password}


def protect(config: Path, rclone: Path) -> SecretStore:
    """Encrypt ``config`` with a password kept in the keyring, when there is a keyring
    (call it before an rclone helper opens ``config``: a running helper would write it
    back unencrypted); otherwise leave it private and say so."""
    if is_encrypted(config):
        return store(config)
    kr = _keyring()
    if kr is None:
        return store(config)
    password = _stored_password(kr) or secrets.token_urlsafe(32)
    try:
        kr.set_password(KEYRING_SERVICE, KEYRING_USER, password)
    except Exception as exc:
        log.warning("keyring refused the rclone password (%s): not encrypted", type(exc).__name__)
        return store(config)
    printer = f"import os,sys;sys.stdout.write(os.environ['{_NEW_PASS_VAR}'])"
    env = {**os.environ, _NEW_PASS_VAR: password, "RCLONE_PASSWORD_CHANGE": "1"}
    env.pop("RCLONE_CONFIG_PASS", None)
    run = subprocess.run(
        [
            str(rclone),
            f"--config={config}",
            "config",
            "encryption",
            "set",
            "--password-command",
            f'"{sys.executable}" -c "{printer}"',
        ],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    if run.returncode or not is_encrypted(config):
        raise AlmcError(
            f"Your rclone settings ({config}) could not be encrypted "
            f"(rclone said: {run.stderr.strip()[-300:] or run.returncode}).",
            title="Remote destination not saved",
            next_step="Try again; if it persists, send the log to staff.",
        )
    return store(config)
