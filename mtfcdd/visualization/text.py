"""Text on pictures in any script: type names are the user's own.

``cv2.putText``'s Hershey font has ASCII, Latin-1 and Cyrillic letters
only: every other letter comes out as ``?``, so a type named ``"傷"`` or
``"α-Riss"`` would be unreadable in a panel or a Figure 2 grid.
``put_text`` and ``text_size`` keep OpenCV's Hershey font for ASCII text,
and draw any other text with the glyphs of an installed font through
matplotlib's FreeType binding (the ``plots`` extra): DejaVu Sans, which
matplotlib ships, then for each letter it lacks the first installed font
that has it (e.g. Noto Sans CJK for Chinese). ``font_families`` gives
matplotlib's own plots the same fallbacks.

Two fallbacks, each said once with a ``UserWarning``: without matplotlib,
text is drawn by OpenCV alone (``?`` for the letters it lacks); a letter no
installed font has is drawn as a box.
"""

import functools
import unicodedata
import warnings

import cv2
import numpy as np

FONT = cv2.FONT_HERSHEY_SIMPLEX
# The font size in pixels, per unit of OpenCV font scale, that makes
# DejaVu Sans's capitals as tall as the Hershey font's (21 pixels at scale 1).
PIXELS_PER_SCALE = 29
FREETYPE_UNITS = 64
PRIMARY_FAMILY = "DejaVu Sans"
"""The font matplotlib ships and draws with by default."""


def text_size(text, scale, thickness=1):
    """``((width, height above the baseline), depth below it)`` in pixels,
    as ``cv2.getTextSize`` gives them, for any text."""
    if text.isascii():
        return cv2.getTextSize(text, FONT, scale, thickness)
    glyphs = _glyphs(text, scale, thickness)
    if glyphs is None:
        return cv2.getTextSize(text, FONT, scale, thickness)
    coverage, depth = glyphs
    return (coverage.shape[1], coverage.shape[0] - depth), depth


def put_text(image, text, origin, scale, colour, thickness=1):
    """Draws ``text`` on ``image`` (in place) like ``cv2.putText``:
    ``origin`` is the left end of the baseline, ``colour`` RGB."""
    glyphs = None if text.isascii() else _glyphs(text, scale, thickness)
    if glyphs is None:
        cv2.putText(image, text, origin, FONT, scale, colour, thickness, cv2.LINE_AA)
        return
    coverage, depth = glyphs
    left, top = origin[0], origin[1] - (coverage.shape[0] - depth)
    # Clip the text's box to the image, as cv2.putText does.
    rows = slice(max(top, 0), min(top + coverage.shape[0], image.shape[0]))
    columns = slice(max(left, 0), min(left + coverage.shape[1], image.shape[1]))
    if rows.start >= rows.stop or columns.start >= columns.stop:
        return
    alpha = coverage[rows.start - top:rows.stop - top, columns.start - left:columns.stop - left]
    alpha = alpha[..., np.newaxis].astype(np.float32) / 255
    region = image[rows, columns].astype(np.float32)
    image[rows, columns] = np.round(region + alpha * (np.float32(colour) - region)).astype(np.uint8)


@functools.lru_cache(maxsize=256)
def _glyphs(text, scale, thickness):
    """``(coverage, depth)``: the text's anti-aliased uint8 coverage and the
    rows of it below the baseline; None without matplotlib."""
    try:
        from matplotlib.font_manager import FontProperties, findfont, get_font
    except ImportError:
        _warn_once(
            "type names outside ASCII are drawn with OpenCV's font, which has '?' for letters "
            "not Latin or Cyrillic: install matplotlib (pip install 'mtfcdd[plots]') to draw them."
        )
        return None
    weight = "bold" if thickness > 1 else "normal"
    primary = findfont(FontProperties(family=PRIMARY_FAMILY, weight=weight))
    font = get_font([primary, *_fallback_fonts(text, primary)])
    font.set_size(scale * PIXELS_PER_SCALE, 72)
    with warnings.catch_warnings():
        # _fallback_fonts has said which letters no font has, in one line.
        warnings.filterwarnings("ignore", message="Glyph .* missing from font")
        font.set_text(text, 0.0)
    font.draw_glyphs_to_bitmap(antialiased=True)
    coverage = np.array(font.get_image(), np.uint8)
    return coverage, int(round(font.get_descent() / FREETYPE_UNITS))


def font_families(text):
    """matplotlib's font family list that draws every letter of ``text``
    an installed font has: ``PRIMARY_FAMILY``, then the fallbacks."""
    from matplotlib.font_manager import FontProperties, findfont

    fallbacks = _fallback_fonts(text, findfont(FontProperties(family=PRIMARY_FAMILY)))
    return [PRIMARY_FAMILY, *(FontProperties(fname=path).get_name() for path in fallbacks)]


def _fallback_fonts(text, primary):
    """The installed fonts that have the letters ``primary`` lacks, one per
    letter (the first by file name, so that a picture does not change from
    run to run)."""
    from matplotlib.font_manager import fontManager

    # Line breaks and other control characters have a glyph in no font.
    missing = sorted(
        letter for letter in set(text) - _characters(primary)
        if not letter.isspace() and unicodedata.category(letter) != "Cc"
    )
    fonts, unfound = [], []
    for letter in missing:
        found = next(
            (path for path in _installed_fonts(tuple(entry.fname for entry in fontManager.ttflist))
             if letter in _characters(path)),
            None,
        )
        if found is None:
            unfound.append(letter)
        elif found not in fonts:
            fonts.append(found)
    if unfound:
        _warn_once(
            f"no installed font has the letters {''.join(unfound)!r} (in a type name or caption): drawn "
            "as boxes; install a font that has them (e.g. Noto Sans CJK for Chinese or Japanese)."
        )
    return fonts


@functools.lru_cache(maxsize=None)
def _installed_fonts(paths):
    # The last-resort font has a box for every letter: a box is no fallback.
    return sorted(
        path for path in set(paths)
        if path.lower().endswith((".ttf", ".otf")) and "lastresort" not in path.lower()
    )


@functools.lru_cache(maxsize=None)
def _characters(path):
    """The code points the font at ``path`` has glyphs for."""
    from matplotlib.font_manager import get_font

    try:
        return frozenset(chr(code) for code in get_font(path).get_charmap())
    except (OSError, RuntimeError):
        return frozenset()


@functools.lru_cache(maxsize=None)
def _warn_once(message):
    warnings.warn(message, UserWarning, stacklevel=3)
