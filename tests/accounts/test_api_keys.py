"""API key format and hashing."""

from bookshop.accounts import api_keys

PEPPER = "a-pepper-of-sixteen-or-more"


def test_a_generated_key_parses_back_and_matches_its_hash() -> None:
    new_key = api_keys.generate(pepper=PEPPER)
    assert new_key.token.startswith(f"bk_{new_key.prefix}_")
    parsed = api_keys.parse(new_key.token)
    assert parsed is not None
    assert parsed.prefix == new_key.prefix
    assert api_keys.matches(parsed.secret, new_key.secret_hash, pepper=PEPPER)


def test_the_hash_depends_on_the_pepper_and_the_secret() -> None:
    new_key = api_keys.generate(pepper=PEPPER)
    parsed = api_keys.parse(new_key.token)
    assert parsed is not None
    assert not api_keys.matches(parsed.secret, new_key.secret_hash, pepper=PEPPER + "x")
    assert not api_keys.matches(parsed.secret + "x", new_key.secret_hash, pepper=PEPPER)


def test_keys_are_unique_and_the_secret_is_not_stored() -> None:
    keys = [api_keys.generate(pepper=PEPPER) for _ in range(100)]
    assert len({k.prefix for k in keys}) == 100
    for key in keys:
        secret = key.token.split("_", 2)[2]
        assert secret.encode() not in key.secret_hash
        assert len(key.secret_hash) == 32


def test_a_secret_containing_underscores_still_parses() -> None:
    parsed = api_keys.parse("bk_0123456789ab_se_cr_et")
    assert parsed == api_keys.ParsedKey(prefix="0123456789ab", secret="se_cr_et")


def test_malformed_keys_do_not_parse() -> None:
    for token in [
        "",
        "bk",
        "bk_",
        "bk_0123456789ab",
        "bk_0123456789ab_",
        "xx_0123456789ab_s",
        "bk_ZZZZZZZZZZZZ_s",
        "bk_0123_secret",
    ]:
        assert api_keys.parse(token) is None, token


def test_an_unknown_prefix_never_matches() -> None:
    assert not api_keys.matches("anything", None, pepper=PEPPER)
