"""The destination contract suite runs against the live emulator server of the sync tests."""

from tests.sync.conftest import emulator  # noqa: F401  (session fixture: one `segue emulators` server)
