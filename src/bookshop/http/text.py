"""Patterns for text in requests that mean the same to msgspec, which validates with Python's
`re`, and to a client reading the OpenAPI document, whose patterns are ECMA-262 regexes.

The two differ where these avoid them: Python's `\\s` takes in \\x1c-\\x1f and \\x85, which
ECMA's does not, and misses \\ufeff, which ECMA's takes; Python's `$` also matches before a
final newline. So the classes list what they mean, and a pattern ends with END. No pattern
admits a NUL: PostgreSQL cannot store one in text (SQLSTATE 22021), so it is refused as input.
"""

# Control characters, spaces and invisible separators: what a name of nothing but is empty.
SPACE = r"\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
END = r"$(?!\n)"

NO_NUL = rf"^[^\x00]*{END}"  # any text PostgreSQL can store
SHOWN = rf"^[^\x00]*[^{SPACE}][^\x00]*{END}"  # ... that shows at least one character
SLUG = rf"^[a-z0-9]+(-[a-z0-9]+)*{END}"
EMAIL = rf"^[^@{SPACE}]+@[^@{SPACE}]+\.[^@{SPACE}]+{END}"
WEB_ADDRESS = rf"^https?://[^{SPACE}]+{END}"


def decimal_text(digits: int) -> str:
    """A sum of money as a JSON string: up to `digits` digits before the point and two after it.
    Sent as text, not as a JSON number (a float to many clients), and not in the forms Python's
    Decimal() also reads ("1e3", " 5", "NaN") that no client should need; PostgreSQL's numeric
    takes the text as it is."""
    return rf"^(0|[1-9][0-9]{{0,{digits - 1}}})(\.[0-9]{{1,2}})?{END}"
