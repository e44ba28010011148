import pytest

from kubectl_jxsecret.errors import UsageError
from kubectl_jxsecret.model.duration import format_duration, parse_duration


@pytest.mark.parametrize("text, seconds", [
    ("30s", 30), ("2m", 120), ("1h30m", 5400), ("1h0m0s", 3600), ("500ms", 0.5), ("45", 45), ("0", 0),
    ("1.5s", 1.5), (" 10s ", 10),
])
def test_parse(text, seconds):
    assert parse_duration(text, "--timeout") == seconds


@pytest.mark.parametrize("text", ["", "ten", "10x", "-5s", "1h 30m", "s"])
def test_parse_rejects_with_the_flag_name(text):
    with pytest.raises(UsageError, match="--timeout"):
        parse_duration(text, "--timeout")


@pytest.mark.parametrize("seconds, text", [(0, "0s"), (45, "45s"), (200, "3m20s"), (120, "2m"), (7500, "2h5m"),
                                           (3600, "1h")])
def test_format(seconds, text):
    assert format_duration(seconds) == text
