"""vulture's allowlist (``[tool.vulture]`` in pyproject.toml; ``./dev test`` runs it).

Each entry is used, but where vulture cannot see it. Keep this short: anything else vulture
reports is dead code and goes. Never imported or run.
"""
# ruff: noqa

_ = object()

# Hooks a framework calls by name.
_.initializePage  # QWizardPage (qt/wizard/*_page.py)
_.dragMoveEvent  # QWidget (qt/transfer_window.py)
_.eventFilter  # QObject (qt/tree_view.py)
_.minimum  # QStyleOptionProgressBar fields (qt/progress_delegate.py)
_.textVisible
_.on_broken_pipe  # rich.console.Console (cli/_common.py)
_.optionxform  # configparser.RawConfigParser (core/autostart/xdg.py)
_.find_spec  # importlib's meta path finder (tests/conftest.py)
_.teardown  # hypothesis' RuleBasedStateMachine (tests/core/cleanup/model.py)
_.do_GET  # http.server.BaseHTTPRequestHandler (core/remote/signin.py, its tests)
_.do_POST
_.log_message
_.delete_password  # keyring.backend.KeyringBackend (the tests' in-memory keyring)
_.__cause__  # exception chaining set by hand (core/errors.py, core/transfer/faults.py)

# ctypes: fields written for the C side, references held for it.
_.cbSize  # qt/session/win32api.py
_.hWnd  # qt/session/windows.py
_._callbacks  # qt/session/libsm.py: libSM calls these for as long as it is connected
ERRORS  # qt/session/libsm.py: XSMP's interact and restart styles, kept complete
IF_RUNNING
ANYWAY
IMMEDIATELY
