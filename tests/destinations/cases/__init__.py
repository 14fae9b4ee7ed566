"""One module per destination type: each exposes `CASE`, a `DestinationCase` the contract suite runs.

Adding a destination: write `cases/<type>.py` with a `CASE`; `tests/destinations/test_contract.py`
picks it up and runs the same contract over it.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from destinations.config import DestinationInstance, SyncSpec


@dataclass
class DestinationCase:
    """What the contract suite needs to know about one destination type.

    Tables: the suite writes `syncs.test_profiles` (tests.sync.conftest.PROFILE_COLUMNS) and
    `syncs.test_actions` (ACTION_COLUMNS, exactly CONTRACT §3's journey_actions columns) with the
    helpers in tests.sync.conftest; `make_actions(n)` must give rows whose channel/address fit the
    vendor (email for an ESP, E.164 phone for SMS) and `consents(rows)` the (address, channel) opt-ins.
    """

    name: str  # destination type and instance name, e.g. "twilio"
    prefix: str  # the emulator's path prefix, e.g. "/twilio"
    env: Callable[[str], dict[str, str]]  # emulator base URL (with prefix) -> env vars for base URL + credentials
    instance: Callable[[float], DestinationInstance]  # rate_limit_scale -> the destination instance
    spec: Callable[[str, int | None], SyncSpec | None]  # (mode, batch_rows) -> sync over the test tables, or None
    make_profiles: Callable[[int], list[tuple]]  # n rows of syncs.test_profiles
    make_actions: Callable[[int], list[tuple]] | None  # n rows of syncs.test_actions (None: no actions mode)
    consents: Callable[[list[tuple]], list[tuple]]  # action rows -> [(address, channel)] opted in
    # A profile row the vendor rejects per record (not the whole batch), or None if it has no such case.
    bad_profile: Callable[[int], tuple] | None
    # Keys (customer_id / action_id) the emulator state shows as held (upsert/mirror) or delivered (actions).
    held_keys: Callable[[dict, str], set[str]]
    # (method, path under the prefix, headers, body) -> operation name; raises if the request breaks the vendor spec.
    validate_request: Callable[[str, str, dict, Any], str] | None = None
    # Operations the suite's syncs must have exercised (checked when validate_request is set).
    expected_operations: set[str] = field(default_factory=set)
    dedupes_actions: bool = False
    # An action row the vendor refuses for itself only (e.g. an address it cannot use), or None.
    bad_action: Callable[[int], tuple] | None = None


def all_cases() -> list[DestinationCase]:
    cases = []
    for module in sorted(pkgutil.iter_modules([str(Path(__file__).parent)]), key=lambda m: m.name):
        cases.append(importlib.import_module(f"{__name__}.{module.name}").CASE)
    return cases
