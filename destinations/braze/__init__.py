"""Braze: the destination (`destination.py`), its emulator (`emulator.py`) and notes (`README.md`)."""
