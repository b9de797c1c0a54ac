"""Loaded into the schemathesis CLI by tests/test_fuzz.py (SCHEMATHESIS_HOOKS): a work-around for
a crash in schemathesis 4.32.5, not a change to what it checks.

While it runs, schemathesis scans response bodies for strings that look like same-origin URLs,
to learn links between operations, and parses each with `urlsplit` without catching its
ValueError. A string that one caller stored earlier, such as a generated description starting
`http://[`, then ends a later caller's run with `ValueError: Invalid IPv6 URL`. Such a string is
no URL, so it is taken as none, as schemathesis takes any other string that is not a link.
"""

from schemathesis.engine import observations

_same_origin_path = observations._same_origin_path


def _same_origin_path_or_none(value: str, origin: tuple[str, str]) -> str | None:
    try:
        return _same_origin_path(value, origin)
    except ValueError:  # urlsplit: "Invalid IPv6 URL", a port out of range
        return None


observations._same_origin_path = _same_origin_path_or_none
