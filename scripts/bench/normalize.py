"""Galley's text normalisers in Python (src/quality/normalize.rs): HTML stripped to its text,
whitespace collapsed, Unicode NFC, attribute keys folded, units in one form.

Where Rust and Python disagree on a Unicode detail (which characters are whitespace or
controls, ASCII vs Unicode case mapping), this module spells out Rust's definition, so both
produce the same bytes. Left as Python has them: word boundaries (\\b) and case-insensitive
matching in the unit pattern, and the Unicode version of NFC; they differ from Rust's only on
rare characters next to digits or on characters newer than Python's Unicode tables.
"""

import html.entities
import re
import unicodedata

BLOCK_TAGS = frozenset(
    "br p div li ul ol tr td th h1 h2 h3 h4 h5 h6 table section article hr dd dt blockquote".split()
)
# Rust's char::is_whitespace (Unicode White_Space); Python's str.isspace also counts U+001C..1F.
WS_CHARS = "\t\n\x0b\x0c\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
WS_RUN = re.compile("[" + re.escape(WS_CHARS) + "]+")
# Control characters (category Cc) that are not whitespace: Rust drops them.
CONTROL = re.compile("[\x00-\x08\x0e-\x1f\x7f-\x84\x86-\x9f]")
# '<' followed by one of these opens a tag; any other '<' is text.
TAG_OPENERS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ/!?")
ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
ASCII_UPPER = str.maketrans("abcdefghijklmnopqrstuvwxyz", "ABCDEFGHIJKLMNOPQRSTUVWXYZ")
# html-escape's decoder: only references ending in ';'; named ones from the HTML5 list.
ENTITY = re.compile(r"&(?:#[xX]([0-9A-Fa-f]+)|#([0-9]+)|([^&;#][^&;]*));")
NAMED = {k[:-1]: v for k, v in html.entities.html5.items() if k.endswith(";")}


def _entity(m):
    hex_digits, dec_digits, name = m.groups()
    if name is not None:
        return NAMED.get(name, m.group(0))
    n = int(hex_digits, 16) if hex_digits is not None else int(dec_digits)
    # Not a Unicode scalar value, or a C0 control other than tab, LF, FF, CR: left as written.
    if n > 0x10FFFF or 0xD800 <= n <= 0xDFFF or (n < 0x20 and n not in (9, 10, 12, 13)):
        return m.group(0)
    return chr(n)


def strip_tags(s):
    out, rest = [], s
    while True:
        i = rest.find("<")
        if i < 0:
            break
        out.append(rest[:i])
        after = rest[i + 1 :]
        if after[:1] not in TAG_OPENERS:
            out.append("<")
            rest = after
            continue
        if after.startswith("!--"):
            e = after.find("-->", 3)
            rest = "" if e < 0 else after[e + 3 :]
            continue
        end = after.find(">")
        if end < 0:
            rest = ""
            break
        m = re.match(r"[A-Za-z0-9]*", after[:end].lstrip("/"))
        name = m.group(0).translate(ASCII_LOWER)
        rest = after[end + 1 :]
        if not after.startswith("/") and name in ("script", "style"):
            c = rest.translate(ASCII_LOWER).find("</" + name)
            if c < 0:
                rest = ""
            else:
                e = rest.find(">", c)
                rest = "" if e < 0 else rest[e + 1 :]
        elif name in BLOCK_TAGS:
            out.append(" ")
    out.append(rest)
    return "".join(out)


def strip_html(s):
    if "<" not in s and "&" not in s:
        return s
    current = s
    # Decoding can expose escaped markup; three rounds cover double escaping (as in Rust).
    for _ in range(3):
        decoded = ENTITY.sub(_entity, strip_tags(current))
        if decoded == current:
            break
        current = decoded
    return current


def text(s):
    return unicodedata.normalize("NFC", WS_RUN.sub(" ", CONTROL.sub("", strip_html(s))).strip(WS_CHARS))


def key(s):
    t = text(s)
    return t.translate(ASCII_LOWER) if t.isascii() else unicodedata.normalize("NFC", t.lower())


QUANTITY = re.compile(
    r"\b([0-9]{1,3}(?:[,\u202f ][0-9]{3})+|[0-9]+)(?:\.([0-9]+))?\s?"
    r'(?:(mah|wh|kwh|mm|cm|km|m|kg|g|mg|lbs?|oz|ml|l|gb|tb|mb|kb|w|kw|v|hz|khz|mhz|ghz|inch|inches|in|mp|rpm|db)\b|("))',
    re.IGNORECASE,
)
UNITS = {
    "mah": "mAh", "wh": "Wh", "kwh": "kWh", "mm": "mm", "cm": "cm", "km": "km", "m": "m",
    "kg": "kg", "g": "g", "mg": "mg", "lb": "lb", "lbs": "lb", "oz": "oz", "ml": "ml", "l": "L",
    "gb": "GB", "tb": "TB", "mb": "MB", "kb": "KB", "w": "W", "kw": "kW", "v": "V", "hz": "Hz",
    "khz": "kHz", "mhz": "MHz", "ghz": "GHz", "inch": "in", "inches": "in", "in": "in", '"': "in",
    "mp": "MP", "rpm": "rpm", "db": "dB",
}


def _quantity(m):
    whole = "".join(ch for ch in m.group(1) if "0" <= ch <= "9")
    frac = (m.group(2) or "").rstrip("0")
    unit = UNITS.get((m.group(3) or m.group(4) or "").translate(ASCII_LOWER), "")
    return f"{whole}.{frac} {unit}" if frac else f"{whole} {unit}"


def units(s):
    if not any("0" <= ch <= "9" for ch in s):
        return s
    return QUANTITY.sub(_quantity, s)
