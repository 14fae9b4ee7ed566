"""Run a case's profile upsert then its actions sync in a process of their own, so a test can SIGKILL it.

usage: python -m tests.destinations.crash_worker CASE WAREHOUSE BATCH_ROWS
"""

import sys

from destinations.engine import run_sync
from tests.destinations.cases import all_cases
from tests.sync.conftest import AS_OF, FAST


def main() -> None:
    name, warehouse, batch_rows = sys.argv[1], sys.argv[2], int(sys.argv[3])
    case = next(c for c in all_cases() if c.name == name)
    print("started", flush=True)
    for mode in ("upsert", "actions"):
        spec = case.spec(mode, batch_rows)
        if spec is not None:
            result = run_sync(spec, case.instance(100.0), warehouse, AS_OF, settings=FAST)
            print(spec.name, result.status, result.succeeded, flush=True)


if __name__ == "__main__":
    main()
