"""Numbers as Word displays them: roman numerals and list letters."""

from __future__ import annotations


def _int(value: str | None, default: int | None = None) -> int | None:
    if value is None:
        return default
    try:
        return int(value)
    except ValueError:
        try:
            return int(float(value))
        except ValueError:
            return default


_ROMAN_VALUES = ((10, "x"), (9, "ix"), (5, "v"), (4, "iv"), (1, "i"))


def _to_roman(n: int) -> str:
    if n <= 0 or n >= 4000:
        return str(n)
    out = []
    for value, numeral in (
        (1000, "m"),
        (900, "cm"),
        (500, "d"),
        (400, "cd"),
        (100, "c"),
        (90, "xc"),
        (50, "l"),
        (40, "xl"),
    ) + _ROMAN_VALUES:
        while n >= value:
            out.append(numeral)
            n -= value
    return "".join(out)


# Typed roman numerals are accepted up to 39 and only with the letters i, v and x:
# "c)", "d)", "l)" and "m)" are list letters in practice, not 100, 500, 50, 1000.
_ROMANS = {_to_roman(n): n for n in range(1, 40)}


def _to_letters(n: int) -> str:
    """Word's letter numbering: a..z, then aa..zz, aaa..."""
    if n <= 0:
        return str(n)
    return chr(ord("a") + (n - 1) % 26) * ((n - 1) // 26 + 1)


def _letters_value(token: str) -> int | None:
    low = token.lower()
    if not low.isascii() or not low.isalpha() or len(set(low)) != 1 or len(low) > 3:
        return None
    return (len(low) - 1) * 26 + ord(low[0]) - ord("a") + 1
