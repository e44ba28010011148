"""bcrypt (model.bcrypt), against known answers: the OpenBSD / crypt_blowfish vectors, and more computed with
libxcrypt's crypt(3), an independent implementation."""

import re

import pytest

from kubectl_jxsecret.model import bcrypt

KNOWN = [
    ("U*U", "$2b$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW"),
    ("U*U*", "$2b$05$CCCCCCCCCCCCCCCCCCCCC.VGOzA784oUp/Z0DY336zx7pLYAy0lwK"),
    ("U*U*U", "$2b$05$XXXXXXXXXXXXXXXXXXXXXOAcXxm9kjPGEMsLznoKqmqw7tc8WCx4a"),
    ("", "$2b$05$CCCCCCCCCCCCCCCCCCCCC.7uG0VCzI2bS7j6ymqJi9CdcdxiRTWNy"),
    ("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789chars after 72 are ignored",
     "$2b$05$abcdefghijklmnopqrstuu5s2v8.iXieOjg/.AySBTTZIIVFJeBui"),
    ("pässwörd~!#%^_+-=?,.", "$2b$04$abcdefghijklmnopqrstuuPK.I6BAdU80tE09G6qZ/a/6QYXpahDK"),
    ("\xff\xa3345", "$2b$04$/OK.fbVrR/bpIqNJ5ianF.jyE1QbL7V.xxme68zGIpZNZBEEZ1cm2"),
    ("a" * 71, "$2b$06$Ro0CUfOqk6cXEKf3dyaM7OI.p5Si8BjPcha.rgzaDeMjusiU8iGcm"),
]


@pytest.mark.parametrize("password, hashed", KNOWN)
def test_known_answers(password, hashed):
    salt = bcrypt._unb64(hashed[7:29])[:16]
    assert bcrypt.hash_password(password, int(hashed[4:6]), salt) == hashed
    assert bcrypt.check(password, "$2a$" + hashed[4:])  # the same hash under the older prefix


def test_blowfish_starts_from_the_digits_of_pi():
    words = bcrypt.pi_words()
    assert (len(words), words[0], words[17], words[18], words[-1]) == (
        1042, 0x243F6A88, 0x8979FB1B, 0xD1310BA6, 0x3AC372E6)


def test_a_random_salt_each_time_and_the_htpasswd_shape():
    first, second = bcrypt.hash_password("pw", 4), bcrypt.hash_password("pw", 4)
    assert first != second
    assert re.fullmatch(r"\$2b\$04\$[./A-Za-z0-9]{53}", first)
    assert bcrypt.check("pw", first) and bcrypt.check("pw", second)
    assert not bcrypt.check("pW", first)


@pytest.mark.parametrize("hashed", ["", "$1$abc$def", "$2b$04$short", "$2x$04$" + "a" * 53])
def test_check_refuses_what_is_not_bcrypt(hashed):
    assert not bcrypt.check("pw", hashed)


def test_cost_must_be_in_range():
    with pytest.raises(ValueError):
        bcrypt.hash_password("pw", 3)
