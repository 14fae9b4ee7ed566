"""`make test-engines`: the same dbt project on DuckDB, PostgreSQL and Spark.

Not part of `make test` (it starts Spark and builds three warehouses): these tests
are collected only when SEGUE_TEST_ENGINES=1, which `make test-engines` sets. There,
an engine that cannot start is a failure, never a skip (`.ci/run` installs and
starts PostgreSQL and Java first).
"""

import os

if os.environ.get("SEGUE_TEST_ENGINES") != "1":
    collect_ignore_glob = ["test_*.py"]
