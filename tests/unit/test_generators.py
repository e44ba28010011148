"""Generators (model.generators): shapes, guarantees, and a statistical sanity check of passwords."""

import re
import string
from collections import Counter

import pytest

from kubectl_jxsecret.model.generators import SYMBOLS, Unavailable, generate, hmac, password, uuid
from kubectl_jxsecret.model.schema import Property

ALPHABET = set(string.ascii_letters + string.digits + SYMBOLS)


@pytest.mark.parametrize("prop, length", [
    (Property("p", generator="password"), 20),
    (Property("p", generator="password", min_length=30), 30),
    (Property("p", generator="password", max_length=41), 41),
    (Property("p", generator="password", min_length=8, max_length=12), 12),
    (Property("p", generator="password", max_length=4), 4),
])
def test_password_length_is_max_then_min_then_20(prop, length):
    assert len(generate(prop)) == length


@pytest.mark.parametrize("length, digits, symbols", [(4, 1, 1), (11, 1, 1), (12, 4, 2), (41, 4, 2)])
def test_every_password_has_digits_symbols_and_both_cases(length, digits, symbols):
    for _ in range(300):
        value = password(length)
        assert len(value) == length
        assert set(value) <= ALPHABET
        assert sum(c in string.digits for c in value) >= digits
        assert sum(c in SYMBOLS for c in value) >= symbols
        assert any(c.islower() for c in value)
        assert any(c.isupper() for c in value)


def test_passwords_are_distinct_and_use_the_whole_alphabet_evenly():
    values = [password(20) for _ in range(2000)]
    assert len(set(values)) == len(values)
    counts = Counter("".join(values))
    assert set(counts) == ALPHABET
    # Letters fill most places: each of the 52 is expected ~ (2000 * (20-6-2) + 2000 * 2 / 2) / 52 ~ 500 times.
    letters = [counts[c] for c in string.ascii_letters]
    assert min(letters) > 0.6 * max(letters)
    # The 4 guaranteed digits each: expected 2000 * 4 / 10 = 800.
    assert all(600 < counts[c] < 1000 for c in string.digits)
    # A place is not biased: the first character is anything.
    assert len({v[0] for v in values}) > 50


def test_hmac_is_41_hex_characters_and_distinct():
    values = [hmac() for _ in range(500)]
    assert all(re.fullmatch(r"[0-9a-f]{41}", v) for v in values)
    assert len(set(values)) == 500
    assert set("".join(values)) == set("0123456789abcdef")


def test_uuid_is_a_random_version_4_uuid():
    values = [uuid() for _ in range(200)]
    assert all(re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", v) for v in values)
    assert len(set(values)) == 200


def test_a_pattern_is_met_by_generating_again():
    prop = Property("p", generator="hmac", pattern="^[0-9]")  # ~10 of 16 first characters miss it
    assert all(generate(prop)[0].isdigit() for _ in range(100))


def test_a_pattern_no_value_can_meet_is_an_error():
    with pytest.raises(ValueError) as e:
        generate(Property("p", generator="hmac", pattern="^Z"))
    assert str(e.value) == ("generator hmac made no value that passes the schema (the last one does not match "
                            "pattern ^Z) in 100 tries")


def test_git_operator_reads_the_boot_secret_and_checks_it():
    boot = {"username": "bot", "password": "x" * 10}
    assert generate(Property("u", generator="gitOperator.username"), boot.__getitem__) == "bot"
    with pytest.raises(ValueError) as e:
        generate(Property("p", generator="gitOperator.password", max_length=5), boot.__getitem__)
    assert str(e.value) == "the gitOperator.password value is 10 characters, more than maxLength 5"

    def missing(key):
        raise Unavailable("Secret jx/jx-boot has no password")

    with pytest.raises(Unavailable):
        generate(Property("p", generator="gitOperator.password"), missing)
