"""The run summary's per-destination line: rows for upsert/mirror syncs, messages for actions syncs."""

from orchestration.summary import destination_totals


def test_every_destination_gets_rows_and_messages():
    runs = [
        ("sync_klaviyo__customers", "klaviyo", "upsert", "succeeded", 10, 9, 1, 0, 0),
        ("sync_klaviyo__journey_emails", "klaviyo", "actions", "partial", 5, 3, 0, 1, 1),
        ("sync_personalization__profiles", "personalization", "mirror", "succeeded", 7, 7, 0, 0, 0),
    ]
    totals = destination_totals(runs)
    assert list(totals) == ["klaviyo", "personalization"]
    assert (totals["klaviyo"].rows, totals["klaviyo"].messages) == (9, 3)
    assert (totals["klaviyo"].rejected, totals["klaviyo"].failed) == (1, 2)
    assert (totals["personalization"].rows, totals["personalization"].messages) == (7, 0)
