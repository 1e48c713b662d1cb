"""Column arithmetic for mixed ASCII / Chinese text on receipt printers and pole displays.

A thermal printer prints ASCII with its 12x24 ANK font (one column) and every double-byte
GB character with its 24x24 font (two columns). A Chinese VFD does the same with 5x7 / 16x16
cells. Column math therefore counts East Asian Wide and Fullwidth characters
(`unicodedata.east_asian_width` W/F) as 2 columns. `sanitize` first maps any other
character to something the device can actually print, so that after it every character is
either printable ASCII (1 column) or a character the device prints with its double-byte font
(2 columns): the width rule and the bytes on the wire never disagree.
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache

# What a character that cannot be printed becomes.
REPLACEMENT = "?"
# Characters worth a better fallback than '?'. The yen/yuan sign U+00A5 is not in GBK, its
# fullwidth form is; an ASCII-only device gets a plain letter.
_GB_MAP = {"\u00a5": "\uffe5"}
_ASCII_MAP = {"\u00a5": "Y", "\uffe5": "Y", "\u00d7": "x", "\u2014": "-", "\u00b7": "."}


@lru_cache(maxsize=4096)
def _gb_double_byte(ch: str, encoding: str) -> bool:
    try:
        return len(ch.encode(encoding)) == 2
    except UnicodeEncodeError:
        return False


def char_width(ch: str) -> int:
    """Columns one (already sanitized) character occupies.

    2 for East Asian Wide/Fullwidth, and for Ambiguous ones too: UAX #11 resolves them wide
    in an East Asian legacy encoding, and a GB printer prints them (e.g. the multiplication
    sign, pinyin vowels) with its double-byte font.
    """
    if ord(ch) < 0x80:
        return 1
    return 2 if unicodedata.east_asian_width(ch) in ("W", "F", "A") else 1


def text_width(text: str) -> int:
    return sum(char_width(ch) for ch in text)


def _invisible(ch: str) -> bool:
    """Zero-width and format characters (ZWSP, ZWJ, BOM, soft hyphen: category Cf),
    variation selectors and combining marks left over after NFC: they take no column on
    paper, so they are dropped rather than printed as '?'."""
    o = ord(ch)
    if 0xFE00 <= o <= 0xFE0F or 0xE0100 <= o <= 0xE01EF:
        return True
    return unicodedata.category(ch) in ("Cf", "Mn", "Me")


def sanitize(text: str, encoding: str | None = "gb18030") -> str:
    """Make `text` printable: control characters become spaces (an item name must never
    smuggle an ESC/POS command onto the wire) and characters the device cannot print
    become '?'.

    The text is first normalised to NFC (a decomposed "e + combining acute" becomes one
    "é", as the font has it) and zero-width characters and variation selectors are dropped.

    With `encoding` (a GB codec), a non-ASCII character is kept only if it is East Asian
    Wide/Fullwidth/Ambiguous and encodes to exactly two bytes (GBK range: what Chinese printer fonts
    hold; GB18030 four-byte characters are not in their ROM). Narrow non-ASCII characters
    are first tried through NFKC (e.g. a halfwidth form) and otherwise replaced. With
    `encoding=None` (ASCII-only device) every non-ASCII character is NFKD-stripped of
    accents or replaced.
    """
    out: list[str] = []
    for ch in unicodedata.normalize("NFC", text):
        o = ord(ch)
        if o >= 0x80 and _invisible(ch):
            continue
        if o < 0x20 or o == 0x7F:
            out.append(" ")
        elif o < 0x80:
            out.append(ch)
        elif encoding is not None and char_width(ch) == 2 and _gb_double_byte(ch, encoding):
            out.append(ch)
        elif encoding is not None and ch in _GB_MAP:
            out.append(_GB_MAP[ch])
        elif encoding is None and ch in _ASCII_MAP:
            out.append(_ASCII_MAP[ch])
        else:
            norm = unicodedata.normalize("NFKC" if encoding else "NFKD", ch)
            if encoding is None:
                norm = "".join(c for c in norm if ord(c) < 0x80)
            if norm and norm != ch and len(norm) <= 2:
                out.append(sanitize(norm, encoding))
            else:
                out.append(REPLACEMENT)
    return "".join(out)


def truncate(text: str, width: int) -> str:
    """The longest prefix of `text` that fits in `width` columns (never half a wide char)."""
    used = 0
    for i, ch in enumerate(text):
        w = char_width(ch)
        if used + w > width:
            return text[:i]
        used += w
    return text


def fit(text: str, width: int, align: str = "left") -> str:
    """Truncate then pad with spaces so the result occupies exactly `width` columns."""
    text = truncate(text, width)
    pad = width - text_width(text)
    if align == "right":
        return " " * pad + text
    if align == "center":
        left = pad // 2
        return " " * left + text + " " * (pad - left)
    return text + " " * pad


def wrap(text: str, width: int) -> list[str]:
    """Split into lines of at most `width` columns, never splitting a wide character.

    ASCII words are kept whole where possible (break at the last space); CJK text breaks
    between any two characters, as Chinese typesetting does. Always returns >= 1 line.
    """
    if width < 2:
        width = 2
    lines: list[str] = []
    rest = text
    while text_width(rest) > width:
        head = truncate(rest, width)
        cut = len(head)
        nxt = rest[cut] if cut < len(rest) else ""
        # Break at a space when we would otherwise split an ASCII word.
        if nxt and nxt != " " and ord(nxt) < 0x80 and ord(head[-1]) < 0x80:
            sp = head.rfind(" ")
            if sp > 0:
                cut = sp
        lines.append(rest[:cut].rstrip(" "))
        rest = rest[cut:].lstrip(" ")
    lines.append(rest)
    return lines
