"""Source of the app's SVG icons: writes them into ``src/almc_assistant/assets/icons``.

Run ``python resources/icons/generate_icons.py`` after changing a colour or a glyph and
commit both this script and the generated SVGs. Every state icon is a filled disc with a
white glyph, so it reads on light and dark panels alike, and the glyph differs per state
so colour is never the only cue (colour-blind users). The copying icon's progress ring is
drawn at run time over ``state-copying.svg`` (``qt/icons.py``).
"""

from __future__ import annotations

from pathlib import Path

OUT = Path(__file__).resolve().parents[2] / "src" / "almc_assistant" / "assets" / "icons"

_HEAD = '<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64" viewBox="0 0 64 64">'
_STROKE = (
    'fill="none" stroke="#ffffff" stroke-width="7" stroke-linecap="round" stroke-linejoin="round"'
)


def _disc(colour: str, glyph: str) -> str:
    return (
        f"{_HEAD}\n"
        f'  <circle cx="32" cy="32" r="29" fill="{colour}" stroke="#ffffff" stroke-opacity="0.9" '
        'stroke-width="2"/>\n'
        f"  {glyph}\n</svg>\n"
    )


ICONS = {
    # all safe: a check mark on green
    "state-safe": _disc("#2e7d32", f'<path d="M18 33 L28 43 L46 23" {_STROKE}/>'),
    # data at risk: an exclamation mark on amber (dark glyph: white on amber is too faint)
    "state-at-risk": _disc(
        "#f2a900",
        '<path d="M32 15 L32 37" fill="none" stroke="#1f2328" stroke-width="7.5" '
        'stroke-linecap="round"/><circle cx="32" cy="48" r="4.6" fill="#1f2328"/>',
    ),
    # copying: an arrow into a tray on blue
    "state-copying": _disc(
        "#1f6feb",
        f'<path d="M32 15 L32 38 M22 29 L32 39 L42 29 M19 47 L45 47" {_STROKE}/>',
    ),
    # problem: a cross on red
    "state-problem": _disc("#cf222e", f'<path d="M22 22 L42 42 M42 22 L22 42" {_STROKE}/>'),
    # the application: a shield with a check mark
    "app": (
        f"{_HEAD}\n"
        '  <path d="M32 4 L56 13 V31 C56 46 46 56 32 61 C18 56 8 46 8 31 V13 Z" '
        'fill="#1f6feb" stroke="#ffffff" stroke-width="2"/>\n'
        f'  <path d="M20 32 L29 41 L45 23" {_STROKE}/>\n</svg>\n'
    ),
}

# Verdict badges reuse the state discs (ok = safe, note = at risk, bad = problem); one
# more glyph marks files that are still being acquired.
ICONS["state-waiting"] = _disc("#6e7781", f'<path d="M32 16 L32 33 L43 40" {_STROKE}/>')
# Not set up yet (no acquisition folders): grey, with a plus, "add your folders"; not red,
# since nothing has failed.
ICONS["state-not-set-up"] = _disc("#6e7781", f'<path d="M32 18 L32 46 M18 32 L46 32" {_STROKE}/>')


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for name, svg in ICONS.items():
        (OUT / f"{name}.svg").write_text(svg, encoding="utf-8")
        print(OUT / f"{name}.svg")


if __name__ == "__main__":
    main()
