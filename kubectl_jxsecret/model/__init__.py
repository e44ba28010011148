"""Pure logic: no I/O and no kubernetes, hvac, questionary or portforward imports."""
