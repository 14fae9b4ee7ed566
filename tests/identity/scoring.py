"""Scoring the identity map (marts.customer_identifiers) against the generator's truth.

Pairwise precision and recall over identifiers: every unordered pair of
identifiers that some raw row shows (truth.identifiers.appears_in_raw) and
that belong to exactly one person (shared_kind is null) is either "together"
in the truth (same person) and/or in the map (same customer_key). An
identifier missing from the map counts as a customer of its own. Shared
identifiers (placeholders, kiosks, household phones, family devices) have no
single true person, so they are scored separately: none may merge people.
All counting happens in SQL.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb

UNIVERSE = """
    with truth as (
        select identifier_type, identifier_value, min(person_id) as person_id
        from truth.identifiers
        where appears_in_raw
        group by identifier_type, identifier_value
        having count(*) = 1 and bool_and(shared_kind is null)
    )
    select
        truth.identifier_type,
        truth.identifier_value,
        truth.person_id,
        coalesce(map.customer_key, 'missing:' || truth.identifier_type || ':' || truth.identifier_value) as customer_key,
        map.customer_key is null as is_missing
    from truth
    left join marts.customer_identifiers as map
        on map.identifier_type = truth.identifier_type
        and map.identifier_value = truth.identifier_value
"""


@dataclass(frozen=True)
class IdentityScore:
    identifiers: int
    missing: int
    true_pairs: int
    predicted_pairs: int
    correct_pairs: int
    people_merged_by_shared: int
    shared_identifiers_linking: int

    @property
    def precision(self) -> float:
        return self.correct_pairs / self.predicted_pairs if self.predicted_pairs else 1.0

    @property
    def recall(self) -> float:
        return self.correct_pairs / self.true_pairs if self.true_pairs else 1.0

    def __str__(self) -> str:
        return (
            f"identity map vs truth: precision {self.precision:.4f}, recall {self.recall:.4f} "
            f"({self.correct_pairs:,} correct of {self.predicted_pairs:,} predicted and {self.true_pairs:,} true pairs "
            f"over {self.identifiers:,} identifiers, {self.missing:,} missing from the map); "
            f"customers merging people through a placeholder or kiosk: {self.people_merged_by_shared}; "
            f"placeholder or kiosk identifiers linked to anything: {self.shared_identifiers_linking}"
        )


def score(warehouse: Path | str) -> IdentityScore:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        con.execute(f"create temp table scored as {UNIVERSE}")
        identifiers, missing = con.execute("select count(*), count(*) filter (where is_missing) from scored").fetchone()
        pairs = "coalesce(sum(n * (n - 1) / 2), 0)"
        (true_pairs,) = con.execute(f"select {pairs} from (select count(*) n from scored group by person_id)").fetchone()
        (predicted,) = con.execute(f"select {pairs} from (select count(*) n from scored group by customer_key)").fetchone()
        (correct,) = con.execute(
            f"select {pairs} from (select count(*) n from scored group by person_id, customer_key)"
        ).fetchone()
        # Placeholders and kiosk devices: in the map at all (placeholders must
        # not be), or in a customer with more than themselves (kiosks).
        (shared_linking,) = con.execute(
            """
            select count(*) from (
                select distinct t.identifier_type, t.identifier_value
                from truth.identifiers t
                join marts.customer_identifiers m using (identifier_type, identifier_value)
                where t.shared_kind = 'placeholder'
                   or (t.shared_kind = 'kiosk' and m.customer_identifier_count > 1)
            )
            """
        ).fetchone()
        # Customers whose people differ and that contain a placeholder or kiosk identifier.
        (merged_by_shared,) = con.execute(
            """
            with bad as (
                select distinct m.customer_key
                from truth.identifiers t
                join marts.customer_identifiers m using (identifier_type, identifier_value)
                where t.shared_kind in ('placeholder', 'kiosk')
            )
            select count(*) from (
                select s.customer_key from scored s join bad using (customer_key)
                group by s.customer_key having count(distinct s.person_id) > 1
            )
            """
        ).fetchone()
    finally:
        con.close()
    return IdentityScore(
        identifiers=int(identifiers),
        missing=int(missing),
        true_pairs=int(true_pairs),
        predicted_pairs=int(predicted),
        correct_pairs=int(correct),
        people_merged_by_shared=int(merged_by_shared),
        shared_identifiers_linking=int(shared_linking),
    )


if __name__ == "__main__":  # pragma: no cover - handy by hand
    import sys

    print(score(sys.argv[1]))
