"""Go/kubectl style durations ("90s", "2m", "1h30m", "500ms", a bare number = seconds)."""

import math
import re

from ..errors import UsageError

_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|h|m|s)")
_UNITS = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}


def parse_duration(text: str, flag: str) -> float:
    """Seconds for `text`; a UsageError naming `flag` when it is not a duration."""
    text = text.strip()
    if re.fullmatch(r"\d+(\.\d+)?", text):
        seconds = float(text)
    elif text and _PART.sub("", text) == "":
        seconds = sum(float(n) * _UNITS[u] for n, u in _PART.findall(text))
    else:
        raise UsageError(f'invalid value "{text}" for {flag}: want a duration such as 30s, 5m or 1h')
    if not math.isfinite(seconds):  # float() turns 400 digits into inf, which no clock can add
        raise UsageError(f'invalid value "{text}" for {flag}: too long')
    return seconds


def format_duration(seconds: float) -> str:
    """Short human form: 45s, 3m20s, 2h5m."""
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes}m" if minutes else f"{hours}h"
    if minutes:
        return f"{minutes}m{secs}s" if secs else f"{minutes}m"
    return f"{secs}s"
