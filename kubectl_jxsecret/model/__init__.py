"""Pure logic: no I/O and no kubernetes, hvac or questionary imports."""
