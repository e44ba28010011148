"""Rendering: tables for people (tabulate, colour only on a tty), JSON/YAML for scripts.

Commands return plain data; this module is the only place that decides how it looks.
"""

import json

# ANSI colours by meaning, not by hue, so a command says "bad" and the theme decides.
_STYLES = {"good": "\x1b[32m", "bad": "\x1b[31m", "warn": "\x1b[33m", "dim": "\x1b[2m", "bold": "\x1b[1m"}
_RESET = "\x1b[0m"


def style(text: str, meaning: str, colors: bool) -> str:
    return f"{_STYLES[meaning]}{text}{_RESET}" if colors and text else text


def dump(data, fmt: str, stream) -> None:
    """Write `data` as json or yaml, the machine-readable forms every command offers."""
    if fmt == "json":
        json.dump(data, stream, indent=2, sort_keys=False)
        stream.write("\n")
    elif fmt == "yaml":
        import yaml  # ~20 ms; only when asked for

        yaml.safe_dump(data, stream, sort_keys=False, default_flow_style=False)
    else:
        raise ValueError(f"not a data format: {fmt}")


def table(rows, headers, stream) -> None:
    """A kubectl-like table: upper-case headers, no borders, two spaces between columns."""
    import tabulate as tabulate_module  # ~20 ms; only for table output

    if not rows:
        return
    # tabulate pads headers by 2 more than cells; kubectl does not. We own the process: set it once.
    tabulate_module.MIN_PADDING = 0
    tabulate = tabulate_module.tabulate
    text = tabulate(rows, headers=[h.upper() for h in headers], tablefmt="plain", disable_numparse=True)
    stream.write(text + "\n")
