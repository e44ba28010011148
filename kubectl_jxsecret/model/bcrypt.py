"""bcrypt ($2b$), pure Python, for the htpasswd template functions: no declared dependency provides it.

The algorithm of Provos and Mazières (OpenBSD's bcrypt.c): EksBlowfish with a 16-byte salt and 2^cost
rounds of key expansion, then "OrpheanBeholderScryDoubt" encrypted 64 times; 23 bytes of it, in
bcrypt's base64. Blowfish's initial P-array and S-boxes are the hexadecimal digits of pi, computed here
(Machin's formula, integer arithmetic) rather than pasted as 1042 constants. Tested against known
answers from libxcrypt. Slow in Python (cost 10, as Jenkins X uses, takes seconds), but it runs once
per htpasswd value.
"""

import base64
import functools
import secrets

MASK = 0xFFFFFFFF
WORDS = 18 + 4 * 256  # P-array, then the four S-boxes
DEFAULT_COST = 10  # golang.org/x/crypto/bcrypt DefaultCost, what jx-secret's htpasswd functions use
MAGIC = b"OrpheanBeholderScryDoubt"
STANDARD = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
BCRYPT = b"./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"


@functools.cache
def pi_words() -> tuple[int, ...]:
    """The first WORDS 32-bit words of pi's fractional part: 0x243F6A88, 0x85A308D3, ..."""
    bits = 32 * WORDS + 64  # guard bits against rounding in the series

    def arctan_inverse(x: int) -> int:  # arctan(1/x) * 2^bits
        total = term = (1 << bits) // x
        x2, k, sign = x * x, 1, -1
        while term:
            term //= x2
            total += sign * (term // (2 * k + 1))
            sign, k = -sign, k + 1
        return total

    pi = 16 * arctan_inverse(5) - 4 * arctan_inverse(239)
    fraction = (pi - (3 << bits)) >> 64
    return tuple((fraction >> (32 * (WORDS - 1 - i))) & MASK for i in range(WORDS))


def _encrypt(p, s0, s1, s2, s3, left, right):
    for i in range(0, 16, 2):
        left ^= p[i]
        # F(x) = ((S0[a] + S1[b]) ^ S2[c]) + S3[d], inlined: this loop is where bcrypt spends its time
        right ^= (((s0[left >> 24] + s1[(left >> 16) & 0xFF]) & MASK) ^ s2[(left >> 8) & 0xFF]) + s3[left & 0xFF] & MASK
        right ^= p[i + 1]
        left ^= (((s0[right >> 24] + s1[(right >> 16) & 0xFF]) & MASK) ^ s2[(right >> 8) & 0xFF]) + s3[right & 0xFF] \
            & MASK
    return right ^ p[17], left ^ p[16]


def _words(data: bytes) -> list[int]:
    """`data` as the cyclic stream of big-endian words Blowfish's key schedule reads (len(data) words
    cover it 4 times: enough for the 18 words a key needs, and for the 4-word salt)."""
    cycled = data * 4
    return [int.from_bytes(cycled[i:i + 4], "big") for i in range(0, len(data) * 4, 4)]


def _expand(p, boxes, key: list[int], salt: list[int] | None) -> None:
    for i in range(18):
        p[i] ^= key[i % len(key)]
    left = right = 0
    j = 0
    for table, size in ((p, 18), *((box, 256) for box in boxes)):
        for i in range(0, size, 2):
            if salt is not None:
                left ^= salt[j % 4]
                right ^= salt[(j + 1) % 4]
                j += 2
            left, right = _encrypt(p, *boxes, left, right)
            table[i], table[i + 1] = left, right


def _b64(data: bytes) -> str:
    return base64.b64encode(data).translate(bytes.maketrans(STANDARD, BCRYPT)).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    raw = text.encode().translate(bytes.maketrans(BCRYPT, STANDARD))
    return base64.b64decode(raw + b"=" * (-len(raw) % 4))


def hash_password(password: str, cost: int | None = None, salt: bytes | None = None) -> str:
    """`$2b$<cost>$<22 salt chars><31 hash chars>` (cost DEFAULT_COST unless given); a random salt unless
    one is given (16 bytes)."""
    cost = DEFAULT_COST if cost is None else cost
    if not 4 <= cost <= 31:
        raise ValueError("bcrypt cost must be between 4 and 31")
    salt = secrets.token_bytes(16) if salt is None else salt
    key_bytes = (password.encode("utf-8") + b"\0")[:72]
    # The key is read as a cycle of its bytes, word by word (OpenBSD's Blowfish_stream2word).
    key = [int.from_bytes(bytes(key_bytes[(4 * i + b) % len(key_bytes)] for b in range(4)), "big")
           for i in range(18)]
    salt_words = _words(salt)[:4]
    words = list(pi_words())
    p = words[:18]
    boxes = [words[18 + 256 * b:18 + 256 * (b + 1)] for b in range(4)]
    _expand(p, boxes, key, salt_words)
    salt_key = salt_words * 5  # 18 words of the salt, as the key stream
    for _ in range(1 << cost):
        _expand(p, boxes, key, None)
        _expand(p, boxes, salt_key, None)
    text = [int.from_bytes(MAGIC[i:i + 4], "big") for i in range(0, 24, 4)]
    for i in range(0, 6, 2):
        left, right = text[i], text[i + 1]
        for _ in range(64):
            left, right = _encrypt(p, *boxes, left, right)
        text[i], text[i + 1] = left, right
    digest = b"".join(w.to_bytes(4, "big") for w in text)[:23]
    return f"$2b${cost:02d}${_b64(salt)[:22]}{_b64(digest)}"


def check(password: str, hashed: str) -> bool:
    """Whether `hashed` ($2a$/$2b$/$2y$) is the hash of `password`."""
    parts = hashed.split("$")
    if len(parts) != 4 or parts[1] not in ("2a", "2b", "2y") or not parts[2].isdigit() or len(parts[3]) != 53:
        return False
    salt = _unb64(parts[3][:22])[:16]
    return secrets.compare_digest(hash_password(password, int(parts[2]), salt)[7:], hashed[7:])
