"""Delivery rate against the Klaviyo emulator enforcing Klaviyo's documented limits (`rate_limit_scale` 1.0).

For each endpoint Segue delivers through, two syncs run back to back against
the vendor's allowance, which starts full (as for an account idle for a
minute): the achieved share is the requests the emulator accepted over the
two, divided by what Klaviyo's documented limits allow over the same wall time
from a full allowance, min(burst + burst rate x T, steady + steady rate x T)
(e.g. 3,500 + 58.3/s x T for Create Event once T passes 11 s). An engine that
keeps to its own buckets, once they bind, scores their headroom (95%); a
client too slow to reach the limit scores less. The second sync's own rate is
reported too. 429s are counted by the emulator over both syncs. One process run
(the emulator runs in a process of its own: bench/klaviyo_harness.py); adds a
row to bench/results.md.

- Create Event (`actions` mode, one request per journey action): 3,500/min steady;
- Bulk Import Profiles (`upsert` mode, one job per batch; `--job-rows` profiles per job,
  small so that many jobs fit in a short run): 150 jobs/min steady. Each job is
  also polled (GET job, 150/min on its own endpoint as Segue and the emulator
  count it), so the job rate is bounded by polling as well: reported.

    .venv/bin/python bench/bench_delivery.py
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

API_KEY = "pk_bench_not_a_secret"


def machine() -> str:
    import duckdb

    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (
        f"{os.cpu_count()} cores, {mem:.0f} GB, Linux {platform.machine()}, python {platform.python_version()}, "
        f"duckdb {duckdb.__version__}, load average {os.getloadavg()[0]:.1f}"
    )


def actions_spec(name: str, relation: str):
    from destinations.config import SyncSpec

    return SyncSpec(
        name=name,
        relation=relation,
        columns=[
            "action_id",
            "customer_key",
            "journey",
            "step",
            "channel",
            "destination",
            "decision",
            "suppression_reason",
            "scheduled_for",
            "to_address",
            "is_transactional",
        ],
        destination="klaviyo",
        mode="actions",
        primary_key="action_id",
        mapping={
            "unique_id": "action_id",
            "email": "to_address",
            "properties.journey": "journey",
            "time": "scheduled_for",
        },
        object="event/Segue Journey Step",
    )


def profiles_spec(name: str, relation: str, job_rows: int):
    from destinations.config import SyncSpec

    return SyncSpec(
        name=name,
        relation=relation,
        columns=["customer_id", "email", "first_name"],
        destination="klaviyo",
        mode="upsert",
        primary_key="customer_id",
        mapping={"external_id": "customer_id", "email": "email", "first_name": "first_name"},
        object="profiles",
        batch_rows=job_rows,
    )


def write_tables(warehouse: Path, drain_events: int, events: int, drain_jobs: int, jobs: int, job_rows: int) -> None:
    import duckdb

    con = duckdb.connect(str(warehouse))
    con.execute("create schema if not exists syncs")
    con.execute("create schema if not exists staging")
    for table, start, n in (("drain_actions", 0, drain_events), ("timed_actions", drain_events, events)):
        con.execute(
            f"""create or replace table syncs.{table} as
                select 'a' || lpad(cast(i as varchar), 8, '0') as action_id, 'k' || i as customer_key,
                       'cart_abandonment' as journey, 'reminder_1' as step, 'email' as channel,
                       'klaviyo' as destination, 'send' as decision, cast(null as varchar) as suppression_reason,
                       timestamp '2026-11-20 09:00:00' as scheduled_for, 'person' || i || '@example.com' as to_address,
                       false as is_transactional
                from range({start}, {start + n}) as t(i)"""
        )
    con.execute(
        """create or replace table staging.stg_consent__consents as
           select 'k' || i as consent_id, 'email' as channel, 'email' as identifier_type,
                  'person' || i || '@example.com' as identifier_value, 'opted_in' as status, true as is_opted_in,
                  'web' as consent_source, timestamp '2026-01-01' as recorded_at
           from range(?) as t(i)""",
        [drain_events + events],
    )
    con.execute(
        """create or replace table staging.stg_esp__message_events (
            event_id varchar, message_id varchar, channel varchar, identifier_value varchar,
            event_name varchar, journey varchar, occurred_at timestamp)"""
    )
    for table, start, n in (("drain_profiles", 0, drain_jobs * job_rows), ("timed_profiles", 10**7, jobs * job_rows)):
        con.execute(
            f"""create or replace table syncs.{table} as
                select 'c' || cast(i as varchar) as customer_id, 'p' || i || '@example.com' as email,
                       'Name' || i as first_name
                from range({start}, {start + n}) as t(i)"""
        )
    con.close()


def timed_sync(harness, spec, instance, warehouse: Path) -> dict:
    from destinations.engine import run_sync

    before = harness.state()
    started = time.perf_counter()
    result = run_sync(spec, instance, str(warehouse), datetime(2026, 11, 20, 12))
    ended = time.perf_counter()
    wall = ended - started
    after = harness.state()
    requests = {k: v - before["requests"].get(k, 0) for k, v in after["requests"].items()}
    return {
        "wall_s": wall,
        "started": started,
        "ended": ended,
        "deliver_s": result.deliver_seconds,
        "rows": result.succeeded,
        "failed": result.failed + result.rejected + result.unknown,
        "requests": requests,
        "throttled": after["throttled_responses"] - before["throttled_responses"],
    }


def allowed(limit, seconds: float) -> float:
    """Requests the documented limit allows over `seconds` from a full allowance (two buckets, the tighter binds)."""
    burst = limit.burst_per_second + limit.burst_per_second * seconds
    steady = limit.steady_per_minute + limit.steady_per_minute / 60 * seconds
    return min(burst, steady)


def share(drain: dict, timed: dict, endpoint: str, limit) -> tuple[int, float, float]:
    """(requests accepted over both syncs, wall seconds from the first's start to the second's end, share)."""
    total = drain["requests"].get(endpoint, 0) + timed["requests"].get(endpoint, 0)
    seconds = timed["ended"] - drain["started"]
    return total, seconds, total / allowed(limit, seconds)


def main() -> None:
    parser = argparse.ArgumentParser()
    # Enough requests that the engine's own buckets (95% of the limits) bind for most of the run even when the
    # client starts slower than the 350/s burst: 3,325 + 55.4/s x T.
    parser.add_argument("--drain-events", type=int, default=8_000, help="events of the first sync")
    parser.add_argument("--events", type=int, default=1_750)
    parser.add_argument("--drain-jobs", type=int, default=60)
    parser.add_argument("--jobs", type=int, default=40)
    parser.add_argument("--job-rows", type=int, default=50)
    parser.add_argument("--no-results", action="store_true", help="do not append to bench/results.md (smoke test)")
    args = parser.parse_args()
    from klaviyo_harness import Harness

    from destinations.config import DestinationInstance
    from destinations.klaviyo.destination import BULK_IMPORT, BULK_IMPORT_GET, CREATE_EVENT, RATE_LIMITS

    print(machine(), flush=True)
    os.environ["KLAVIYO_API_KEY"] = API_KEY
    instance = DestinationInstance(
        name="klaviyo", type="klaviyo", base_url_env="KLAVIYO_BASE_URL", credentials={"api_key": "KLAVIYO_API_KEY"}
    )
    parts = []
    with tempfile.TemporaryDirectory() as tmp, Harness(Path(tmp) / "harness") as harness:
        os.environ["KLAVIYO_BASE_URL"] = harness.base_url
        harness.faults(rate_limit_scale=1.0)
        warehouse = Path(tmp) / "bench.duckdb"
        write_tables(warehouse, args.drain_events, args.events, args.drain_jobs, args.jobs, args.job_rows)

        drain = timed_sync(harness, actions_spec("sync_klaviyo__drain", "syncs.drain_actions"), instance, warehouse)
        timed = timed_sync(harness, actions_spec("sync_klaviyo__timed", "syncs.timed_actions"), instance, warehouse)
        total, seconds, events_share = share(drain, timed, CREATE_EVENT, RATE_LIMITS[CREATE_EVENT])
        rate = timed["requests"].get(CREATE_EVENT, 0) / timed["deliver_s"]
        events = {"drain": drain, "timed": timed, "total": total, "seconds": seconds, "share": events_share}
        print(json.dumps({"create_event": events}, default=str), flush=True)
        parts.append(
            f"Create Event ({args.drain_events:,} + {args.events:,} events, one request each): {total:,} accepted in "
            f"{seconds:.1f} s where the limits allow {allowed(RATE_LIMITS[CREATE_EVENT], seconds):,.0f} = "
            f"**{events_share:.0%}** (second sync alone {rate:.1f}/s, steady limit 58.3/s); "
            f"{drain['throttled'] + timed['throttled']} 429s, {drain['rows'] + timed['rows']:,} delivered, "
            f"{drain['failed'] + timed['failed']} failed"
        )

        drain = timed_sync(
            harness, profiles_spec("sync_klaviyo__drainp", "syncs.drain_profiles", args.job_rows), instance, warehouse
        )
        timed = timed_sync(
            harness, profiles_spec("sync_klaviyo__timedp", "syncs.timed_profiles", args.job_rows), instance, warehouse
        )
        jobs, seconds, jobs_share = share(drain, timed, BULK_IMPORT, RATE_LIMITS[BULK_IMPORT])
        polls, _, polls_share = share(drain, timed, BULK_IMPORT_GET, RATE_LIMITS[BULK_IMPORT_GET])
        bulk = {"drain": drain, "timed": timed, "jobs": jobs, "polls": polls, "seconds": seconds}
        bulk.update(jobs_share=jobs_share, polls_share=polls_share)
        print(json.dumps({"bulk_import": bulk}, default=str), flush=True)
        parts.append(
            f"Bulk Import Profiles ({args.drain_jobs} + {args.jobs} jobs of {args.job_rows}): {jobs} jobs and "
            f"{polls} polls (GET job: its own 10/s, 150/min) in {seconds:.1f} s, where the limits allow "
            f"{allowed(RATE_LIMITS[BULK_IMPORT], seconds):,.0f} of each: jobs {jobs_share:.0%}, polls "
            f"**{polls_share:.0%}** (the polls bind: 2 per job); {drain['throttled'] + timed['throttled']} 429s, "
            f"{drain['rows'] + timed['rows']:,} profiles confirmed, {drain['failed'] + timed['failed']} failed"
        )
    row = (
        f"| {datetime.now(UTC):%Y-%m-%d} | delivery at Klaviyo's limits | emulator rate_limit_scale 1.0 | "
        f"{'; '.join(parts)} | {machine()} |"
    )
    print(row)
    if not args.no_results:
        from results_table import append_rows

        append_rows([row])


if __name__ == "__main__":
    main()
