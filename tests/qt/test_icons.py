"""Icons: every state renders sharp at high DPI; the copying icon carries its progress."""

from __future__ import annotations

import pytest
from PySide6.QtGui import QImage
from pytestqt.qtbot import QtBot

from almc_assistant.qt import icons
from almc_assistant.qt.icons import Badge, State


@pytest.mark.parametrize("state", list(State))
def test_every_state_icon_has_all_sizes(qtbot: QtBot, state: State) -> None:
    icon = icons.state_icon(state)
    assert not icon.isNull()
    sizes = {s.width() for s in icon.availableSizes()}
    assert {16, 22, 32, 64} <= sizes


def test_states_look_different(qtbot: QtBot) -> None:
    images = {s: icons.render(f"state-{s.value}", 32).toImage() for s in State}
    colours = {s: img.pixelColor(16, 4).name() for s, img in images.items()}
    assert len(set(colours.values())) == len(State), colours


def _white_pixels_on_ring(image: QImage, side: str) -> int:
    w = image.width()
    y_range = range(w // 4, 3 * w // 4)
    x = int(w * 0.16) if side == "left" else int(w * 0.84)
    return sum(1 for y in y_range if image.pixelColor(x, y).lightness() > 240)


def test_progress_ring_grows_clockwise(qtbot: QtBot) -> None:
    quarter = icons.render("state-copying", 64, 0.25).toImage()
    most = icons.render("state-copying", 64, 0.9).toImage()
    # At 25 % only the top-right quarter is drawn; at 90 % the left side is too.
    assert _white_pixels_on_ring(quarter, "left") < _white_pixels_on_ring(most, "left")


def test_progress_snaps_to_steps() -> None:
    assert icons.snap_progress(None) is None
    assert icons.snap_progress(-1) == 0.0
    assert icons.snap_progress(2) == 1.0
    assert icons.snap_progress(0.51) == 0.5


def test_progress_is_drawn_only_while_copying(qtbot: QtBot) -> None:
    assert icons.state_icon(State.SAFE, 0.5).cacheKey() == icons.state_icon(State.SAFE).cacheKey()
    assert (
        icons.state_icon(State.COPYING, 0.5).cacheKey()
        != icons.state_icon(State.COPYING, 0.2).cacheKey()
    )


def test_badges_and_app_icon(qtbot: QtBot) -> None:
    for badge in Badge:
        assert not icons.badge_icon(badge).isNull()
    assert not icons.app_icon().isNull()


def test_a_missing_asset_is_named() -> None:
    with pytest.raises(FileNotFoundError):
        icons.svg_bytes("no-such-icon")


def test_progress_ring_reads_at_tray_size(qtbot: QtBot) -> None:
    # At a tray's 22 px the part still to copy is a dark track and the part done a white
    # arc, so the two differ even on a light panel (a pale track read as the disc's rim);
    # the ring runs around the (smaller) disc, at the rim, and leaves the glyph whole.
    image = icons.render("state-copying", 22, 0.25).toImage()
    ratio = image.devicePixelRatio()
    left = image.pixelColor(round(1.5 * ratio), round(11 * ratio))  # 9 o'clock: not done
    right = image.pixelColor(round(20.5 * ratio), round(11 * ratio))  # 3 o'clock: done
    assert left.lightness() < 110, left.name()
    assert right.lightness() > 200, right.name()
    plain = icons.render("state-copying", 22, None).toImage()
    disc = image.pixelColor(round(7 * ratio), round(7 * ratio))  # the blue disc, shown
    assert disc.blue() > 150 and disc.red() < 120, disc.name()
    assert plain.pixelColor(round(11 * ratio), round(11 * ratio)).lightness() > 200
