"""The personalization service under `/personalization` in `segue emulators` (CONTRACT §5).

Not an imitation: the real service (`service.ProfileService` on a real SQLite
store in WAL mode) with the emulator switches around it: the fault switch and
rate limits gate every call, `GET /__emulator__/state` lists the documents
(`profiles`: id = customer_key, email, phone, external_id = customer_id;
`lists`: segment -> customer keys; `messages`: empty, on-site actions are
shown, not sent), `POST /__emulator__/reset` empties the store. Any non-empty
`X-Api-Key` is accepted, as the other emulators accept any key.

The store is the file `PERSONALIZATION_DB` names when set (so `make demo`
leaves a store that `segue personalization serve` can serve), else a file in a
temporary folder of its own.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import weakref
from pathlib import Path
from typing import Any

from starlette.responses import Response
from starlette.routing import Route

from destinations.emulators import Emulator, Faults
from destinations.personalization.destination import RATE_LIMITS
from destinations.personalization.service import ProfileService, ProfileStore, error


class PersonalizationEmulator(Emulator):
    prefix = "/personalization"
    rate_limits = RATE_LIMITS

    def __init__(self, faults: Faults | None = None, path: str | Path | None = None):
        if path is None and os.environ.get("PERSONALIZATION_DB"):
            path = os.environ["PERSONALIZATION_DB"]
        if path is None:
            folder = tempfile.mkdtemp(prefix="segue-personalization-")
            weakref.finalize(self, shutil.rmtree, folder, ignore_errors=True)  # gone with the emulator
            path = Path(folder) / "personalization.sqlite3"
        self.store = ProfileStore(path)
        super().__init__(faults)

    def reset_state(self) -> None:
        self.store.reset()

    def state(self) -> dict[str, Any]:
        profiles, lists = [], {}
        for document in self.store.documents():
            key = document["customer_key"]
            identifiers = document.get("identifiers") or {}
            profiles.append(
                {
                    "id": key,
                    "email": (identifiers.get("email") or [None])[0],
                    "phone": (identifiers.get("phone") or [None])[0],
                    "external_id": (identifiers.get("customer_id") or [None])[0],
                    "document": document,
                }
            )
            for segment in document.get("segments") or []:
                lists.setdefault(segment, []).append(key)
        return {"profiles": profiles, "lists": lists, "messages": [], "journal_mode": self.store.journal_mode()}

    def error(self, status: int, code: str, detail: str) -> Response:
        return error(status, code, detail)

    def routes(self) -> list[Route]:
        service = ProfileService(self.store, None, None, gate=self.gate, lose_response=self.lose_response)
        return service.routes()
