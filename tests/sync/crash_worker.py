"""Run one test sync in its own process, so a test can SIGKILL it at a random point.

usage: python -m tests.sync.crash_worker WAREHOUSE BATCH_ROWS ORDER
(ORDER upsert-first: the profiles upsert, then the journey actions; actions-first: the other way round)
"""

import sys

from destinations.engine import run_sync
from tests.sync.conftest import AS_OF, FAST, actions_spec, instance, profiles_spec


def main() -> None:
    warehouse, batch_rows, order = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    specs = [profiles_spec(batch_rows=batch_rows), actions_spec(batch_rows)]
    if order == "actions-first":
        specs.reverse()
    print("started", flush=True)
    for spec in specs:
        result = run_sync(spec, instance(), warehouse, AS_OF, settings=FAST)
        print(spec.name, result.status, result.succeeded, flush=True)


if __name__ == "__main__":
    main()
