"""Segue's Dagster side: one Definitions, dbt assets, the CLI and the sample retailer."""

import os

# The machine may be offline: dbt's and GX's anonymous usage calls must neither
# hang nor warn. Set before dbt or GX is imported anywhere in this process and
# inherited by the dbt subprocesses Dagster starts. A user's explicit setting wins.
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")

# great-expectations imports pyspark whenever it is installed (the `engines` extra);
# pyspark 4 then warns at import that it does not support pandas 3 yet. Segue's
# GX checks read pandas batches from DuckDB and never hand them to Spark.
import warnings

warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas", category=FutureWarning)
