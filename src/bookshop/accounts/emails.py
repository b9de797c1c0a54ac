"""The key an email is compared by, so that look-alike addresses name one account.

Two addresses that read the same to a person must not become two accounts: "fi" spelled with
the ligature U+FB01 and with two letters, full-width letters (U+FF21...) and ASCII ones,
"STRASSE" and "stra\u00dfe" (case folding, not lowering, makes the sharp s "ss"), the Turkish
dotless i (U+0131) and the Latin i. The key is NFKC, then Unicode full case folding, then both
Turkish i's folded into i, then NFKC again (folding can undo a composition). The database keeps
it in users.email_key, and a partial unique index on it decides, among live users, which
address is taken (migration 0019 says why Python computes it, not SQL).

Python's casefold() leaves the dotless i as it is and folds the dotted capital I (U+0130) into
i + U+0307 COMBINING DOT ABOVE: both are spelled out here, since a Turkish i is the classic
look-alike of the Latin one.
"""

import unicodedata

DOTLESS_I = "\u0131"
I_WITH_COMBINING_DOT = "i\u0307"  # what casefold() makes of İ


def email_key(email: str) -> str:
    folded = unicodedata.normalize("NFKC", email).casefold()
    folded = folded.replace(I_WITH_COMBINING_DOT, "i").replace(DOTLESS_I, "i")
    return unicodedata.normalize("NFKC", folded)
