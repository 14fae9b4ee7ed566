"""The delivery log flows back: three consecutive --as-of builds with a simulated sync between them.

Between runs the test plays the sync engine: every `send` action whose
scheduled_for has come by the next as-of is written to
segue.action_deliveries as delivered (one rejected, one unknown). The next
build must count those toward the cap, never plan them again, move their
journeys on, keep action ids and segment entry times, and still hold every
CONTRACT §4 rule.
"""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta

import duckdb

from tests.journeys.checks import contract_violations, query
from tests.journeys.conftest import AS_OF, SEEDS, copy_build, dbt_vars

# What the delivery log and the new as-of change: the log's staging model,
# the journeys and the segments. Raw has no rows after
# AS_OF, so staging, identity and the profile fields journeys read (contacts,
# consent, time zone, points) are the same at the later instants: they are
# not rebuilt, which keeps the test short.
LOOP_SELECT = ["stg_segue__action_deliveries+", "path:models/journeys", "path:models/segments"]


def simulate_sync(warehouse, until: datetime, first_run: bool) -> dict[str, str]:
    """Write what a sync run would have done with the current `send` rows; returns action_id -> status."""
    con = duckdb.connect(str(warehouse))
    try:
        con.execute("create schema if not exists segue")
        con.execute(
            """create table if not exists segue.action_deliveries (
                action_id varchar, destination varchar, status varchar,
                attempts integer, last_error varchar, delivered_at timestamp)"""
        )
        due = con.execute(
            """select action_id, destination, scheduled_for from marts.journey_actions
               where decision = 'send' and scheduled_for <= ?
                 and action_id not in (select action_id from segue.action_deliveries)
               order by action_id""",
            [until],
        ).fetchall()
        statuses = {}
        for index, (action_id, destination, scheduled_for) in enumerate(due):
            status = "delivered"
            if first_run and index == 0:
                status = "rejected"
            elif first_run and index == 1:
                status = "unknown"
            statuses[action_id] = status
            con.execute(
                "insert into segue.action_deliveries values (?, ?, ?, 1, ?, ?)",
                [
                    action_id,
                    destination,
                    status,
                    None if status == "delivered" else "simulated",
                    scheduled_for if status == "delivered" else None,
                ],
            )
        return statuses
    finally:
        con.close()


def actions(warehouse) -> dict[tuple, tuple]:
    rows = query(
        warehouse,
        """select journey, step, customer_key, trigger_id, step_number, action_id, decision, suppression_reason
           from marts.journey_actions""",
    )
    return {row[:4]: row[4:] for row in rows}


def test_three_runs_through_the_delivery_log(journey_builds, tmp_path):
    dbt = copy_build(journey_builds[SEEDS[0]], tmp_path / "loop")
    as_ofs = [AS_OF, AS_OF + timedelta(days=1), AS_OF + timedelta(days=2)]
    snapshots, delivered, memberships = [], {}, []
    delivered_before = []  # per run: what the log held when it was built
    for run, as_of in enumerate(as_ofs):
        if run:
            delivered.update(simulate_sync(dbt.warehouse, as_of, first_run=run == 1))
        delivered_before.append(dict(delivered))
        if run:
            dbt("run", "--select", *LOOP_SELECT, vars=dbt_vars(as_of)).check()
        assert contract_violations(dbt.warehouse, as_of) == {}, f"run {run + 1} at {as_of}"
        snapshots.append(actions(dbt.warehouse))
        memberships.append(
            dict(
                ((segment, key), entered_at)
                for segment, key, entered_at in query(
                    dbt.warehouse, "select segment, customer_key, entered_at from marts.segment_memberships"
                )
            )
        )

    assert len(delivered) > 20 and set(delivered.values()) == {"delivered", "rejected", "unknown"}

    expected_reason = {
        "delivered": "already_delivered",
        "unknown": "delivery_unknown",
        "rejected": "rejected_by_destination",
    }
    for snapshot, log in zip(snapshots[1:], delivered_before[1:], strict=True):
        by_id = {action_id: (decision, reason) for (_, action_id, decision, reason) in snapshot.values()}
        settled = [action_id for action_id in log if action_id in by_id]
        assert len(settled) >= 0.9 * len(log)
        for action_id in settled:
            assert by_id[action_id] == ("suppressed", expected_reason[log[action_id]]), action_id

    # the same (journey, step, customer, trigger) keeps its action_id from run to run
    for before, after in itertools.pairwise(snapshots):
        shared = before.keys() & after.keys()
        assert len(shared) > 100
        assert all(before[key][1] == after[key][1] for key in shared)

    # delivered steps advance: a later step of a delivered instance gets a decision of its own afterwards
    final = snapshots[-1]
    last_step = {}
    for (journey, _, key, trigger), (step_number, *_) in final.items():
        last_step[journey, key, trigger] = max(step_number, last_step.get((journey, key, trigger), 0))
    advanced = [
        (journey, key, trigger)
        for (journey, _, key, trigger), (step_number, action_id, _, _) in final.items()
        if delivered.get(action_id) == "delivered" and last_step[journey, key, trigger] > step_number
    ]
    assert advanced, "no journey moved past a delivered step in three runs"

    # segment entry times survive reruns
    kept = memberships[0].keys() & memberships[1].keys()
    assert len(kept) > 100
    assert all(memberships[0][key] == memberships[1][key] for key in kept)
    assert all(memberships[2][key] == memberships[1][key] for key in kept if key in memberships[2])
