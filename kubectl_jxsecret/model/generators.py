"""The value generators a secret schema names, all from the `secrets` module (a cryptographic RNG).

`password`: length maxLength, else minLength, else 20; digits, symbols (`~!#%^_+-=?,.`), lower and upper
case letters all guaranteed (4 digits and 2 symbols from 12 characters on, as jx's go-password), the
rest letters, then shuffled. `hmac`: 41 hex characters (jx's shape; jx used math/rand). `uuid`: a
random UUID (version 4). The `gitOperator.*` generators read the cluster: the caller passes them in.
"""

import secrets
import string
import uuid as uuid_module

from .schema import Property

SYMBOLS = "~!#%^_+-=?,."
LETTERS = string.ascii_letters
DEFAULT_LENGTH = 20
PATTERN_TRIES = 100  # a generated value that misses the schema's pattern is generated again, this often


class Unavailable(ValueError):
    """The generator has nothing to give (gitOperator: no jx-boot Secret): a person must set the value."""


def password_length(prop: Property) -> int:
    return prop.max_length or prop.min_length or DEFAULT_LENGTH


def password(length: int) -> str:
    if length < 4:
        raise ValueError("a password needs at least 4 characters")
    digits, symbols = (4, 2) if length >= 12 else (1, 1)
    chars = ([secrets.choice(string.digits) for _ in range(digits)] + [secrets.choice(SYMBOLS) for _ in range(symbols)]
             + [secrets.choice(string.ascii_lowercase), secrets.choice(string.ascii_uppercase)])
    chars += [secrets.choice(LETTERS) for _ in range(length - len(chars))]
    secrets.SystemRandom().shuffle(chars)
    return "".join(chars)


def hmac() -> str:
    return secrets.token_hex(21)[:41]


def uuid() -> str:
    return str(uuid_module.UUID(bytes=secrets.token_bytes(16), version=4))


def generate(prop: Property, git_operator=None) -> str:
    """A value for `prop` by its generator, that passes its minLength/maxLength/pattern (tried again
    up to PATTERN_TRIES times). `git_operator(key)` reads the jx-boot Secret. Raises ValueError
    with the reason when no acceptable value comes out."""
    for _ in range(PATTERN_TRIES):
        if prop.generator == "password":
            value = password(password_length(prop))
        elif prop.generator == "hmac":
            value = hmac()
        elif prop.generator == "uuid":
            value = uuid()
        elif prop.generator.startswith("gitOperator."):
            value = git_operator(prop.generator.split(".", 1)[1])
            problem = prop.problem(value)
            if problem:
                raise ValueError(f"the {prop.generator} value {problem}")
            return value
        else:
            raise ValueError(f"unknown generator {prop.generator!r}")
        if not prop.problem(value):
            return value
    raise ValueError(f"generator {prop.generator} made no value that passes the schema "
                     f"(the last one {prop.problem(value)}) in {PATTERN_TRIES} tries")
