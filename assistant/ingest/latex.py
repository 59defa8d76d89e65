"""Turns the LaTeX escapes left in scraped abstracts into plain text (T\\"ULU -> TÜLU, \\% -> %).

Only escapes with an unambiguous text meaning are replaced; unknown macros (a paper's own \\mname) stay verbatim.
"""

from __future__ import annotations

import re
import unicodedata

_ACCENTS = {'"': "\u0308", "'": "\u0301", "`": "\u0300", "^": "\u0302", "~": "\u0303", "c": "\u0327",
            "=": "\u0304", ".": "\u0307", "u": "\u0306", "v": "\u030c", "H": "\u030b"}
_LETTER = r"(?:\{\s*([A-Za-z]|\\i)\s*\}|([A-Za-z]|\\i(?![A-Za-z]) ?))"  # "u", "{u}" or the dotless "\i"
_ACCENT = re.compile(r"""\\(["'`^~=.]|[cuvH](?=[{\s]))\s*""" + _LETTER)
_BRACED_ACCENT = re.compile(r"\{\s*(" + _ACCENT.pattern + r")\s*\}")  # BibTeX style: {\"u}
_SIMPLE = {r"\%": "%", r"\&": "&", r"\_": "_", r"\#": "#", r"\$": "$", r"\{": "{", r"\}": "}"}
_WORDS = {"eg": "e.g.", "ie": "i.e.", "etal": "et al.", "etc": "etc."}
# Letters and symbols with a macro of their own, as BibTeX exports write them ({\o}, {\ss}, {\textless}).
_SYMBOLS = {"o": "ø", "O": "Ø", "ss": "ß", "aa": "å", "AA": "Å", "ae": "æ", "AE": "Æ", "oe": "œ", "OE": "Œ",
            "l": "ł", "L": "Ł", "i": "ı", "textless": "<", "textgreater": ">", "textasciitilde": "~",
            "textbackslash": "\\", "textendash": "–", "textemdash": "—", "textquoteright": "’",
            "textquoteleft": "‘", "textquotedblleft": "“", "textquotedblright": "”", "textbar": "|",
            "textasciicircum": "^", "textunderscore": "_", "textbullet": "•", "textdegree": "°"}
_NAMES = "|".join(sorted(_SYMBOLS, key=len, reverse=True))
_SYMBOL = re.compile(rf"\{{\\({_NAMES})\}}|\\({_NAMES})(?![A-Za-z])(?:\{{\}}|\s?)")
_WRAPPERS = re.compile(r"\\(?:url|emph|textbf|textit|texttt|textsc|text|mathrm|mbox)\{([^{}]*)\}")


def _accent(m: re.Match[str]) -> str:
    letter = (m.group(2) or m.group(3)).replace("\\i", "i").strip()
    return unicodedata.normalize("NFC", letter + _ACCENTS[m.group(1)])


def clean_latex(text: str) -> str:
    if "\\" not in text and "``" not in text and "$" not in text:
        return text
    text = _BRACED_ACCENT.sub(lambda m: _ACCENT.sub(_accent, m.group(1)), text)
    text = _ACCENT.sub(_accent, text)
    for escape, plain in _SIMPLE.items():
        text = text.replace(escape, plain)
    text = re.sub(r"\\href\{([^{}]*)\}\{([^{}]*)\}", r"\2 (\1)", text)
    text = re.sub(r"\\href\{([^{}]*)\}", r"\1", text)
    for _ in range(3):  # nested wrappers; a symbol inside one (\textbf{\o}) once the wrapper is gone
        text = _WRAPPERS.sub(r"\1", text)
        text = _SYMBOL.sub(lambda m: _SYMBOLS[m.group(1) or m.group(2)], text)
    text = re.sub(r"\\(eg|ie|etal|etc)\b\.?", lambda m: _WORDS[m.group(1)], text)
    text = re.sub(r"\$\\sim\$", "~", text)
    text = re.sub(r"\\ ", " ", text)  # "e.g.\ relying": a LaTeX non-breaking space after an abbreviation
    text = re.sub(r"``([^`']*)''", r"“\1”", text)
    return text


def clean_bibtex(text: str) -> str:
    """A BibTeX field as text: escapes as in clean_latex, then the grouping braces ({LeTI}, {\\"u}) dropped;
    escaped braces (\\{) stay as braces."""
    text = clean_latex(text.replace("\\{", "\x00").replace("\\}", "\x01"))
    return text.replace("{", "").replace("}", "").replace("\x00", "{").replace("\x01", "}")
