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
look-alike of the Latin one. Characters that show as nothing (Unicode's default-ignorable code
points: soft hyphen, zero-width space and joiners, bidi controls, variation selectors...) are
dropped first, as Unicode's own NFKC_Casefold drops them: `ad\u200bmin@` is `admin@`.
"""

import unicodedata

DOTLESS_I = "\u0131"
I_WITH_COMBINING_DOT = "i\u0307"  # what casefold() makes of İ
# Default_Ignorable_Code_Point (Unicode's DerivedCoreProperties.txt), first and last of each
# range; migration 0019's email_key_of() drops the same ones.
DEFAULT_IGNORABLE = (
    (0x00AD, 0x00AD), (0x034F, 0x034F), (0x061C, 0x061C), (0x115F, 0x1160), (0x17B4, 0x17B5),
    (0x180B, 0x180F), (0x200B, 0x200F), (0x202A, 0x202E), (0x2060, 0x206F), (0x3164, 0x3164),
    (0xFE00, 0xFE0F), (0xFEFF, 0xFEFF), (0xFFA0, 0xFFA0), (0xFFF0, 0xFFF8), (0x1BCA0, 0x1BCA3),
    (0x1D173, 0x1D17A), (0xE0000, 0xE0FFF),
)  # fmt: skip
_DROP_IGNORABLE = dict.fromkeys(code for first, last in DEFAULT_IGNORABLE for code in range(first, last + 1))


def email_key(email: str) -> str:
    folded = unicodedata.normalize("NFKC", email.translate(_DROP_IGNORABLE)).casefold()
    folded = folded.replace(I_WITH_COMBINING_DOT, "i").replace(DOTLESS_I, "i")
    return unicodedata.normalize("NFKC", folded)
