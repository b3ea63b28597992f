"""almc-assistant: keeps a microscopy core's users' data safe before workstation cleanup."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("almc-assistant")
except PackageNotFoundError:  # running from a source tree without an install
    __version__ = "0.0.0+source"
