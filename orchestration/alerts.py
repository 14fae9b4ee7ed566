"""Alerts: a failed run, or a run in which a blocking data-quality check failed.

Sent as JSON to the webhook in SEGUE_ALERT_WEBHOOK_URL (Slack-style incoming
webhooks, a chat bot, an incident tool); with no URL set the alert goes to the log.
The payload holds names, ids and messages only: no credentials, no customer
data. The URL itself may carry a token, so it is never logged.
"""

from __future__ import annotations

import logging
import os
from typing import Any
from urllib.parse import urlsplit

logger = logging.getLogger("segue.alerts")

WEBHOOK_ENV = "SEGUE_ALERT_WEBHOOK_URL"
TIMEOUT_SECONDS = 10


def webhook_url() -> str | None:
    return os.environ.get(WEBHOOK_ENV, "").strip() or None


def failed_checks(instance, run_id: str) -> list[dict[str, Any]]:
    """Asset checks evaluated in the run that did not pass (asset, check, severity, description)."""
    from dagster import DagsterEventType

    records = instance.get_records_for_run(run_id, of_type=DagsterEventType.ASSET_CHECK_EVALUATION).records
    out = []
    for record in records:
        evaluation = record.event_log_entry.dagster_event.event_specific_data
        if evaluation.passed:
            continue
        out.append(
            {
                "asset": evaluation.asset_key.to_user_string(),
                "check": evaluation.check_name,
                "severity": evaluation.severity.value,
                "description": evaluation.description or "",
            }
        )
    return out


def skipped_steps(instance, run_id: str) -> list[str]:
    """Steps the run skipped (a blocking check upstream failed, or an upstream step did)."""
    from dagster import DagsterEventType

    records = instance.get_records_for_run(run_id, of_type=DagsterEventType.STEP_SKIPPED).records
    return sorted({r.event_log_entry.step_key for r in records if r.event_log_entry.step_key})


def build_payload(kind: str, run, message: str, checks: list[dict[str, Any]], skipped: list[str]) -> dict[str, Any]:
    return {
        "source": "segue",
        "kind": kind,  # run_failed | sync_blocked
        "job": run.job_name,
        "run_id": run.run_id,
        "message": message,
        "failed_checks": checks,
        "blocked_assets": skipped,
        "tags": {k: v for k, v in (run.tags or {}).items() if k.startswith("segue/")},
    }


def send(payload: dict[str, Any]) -> str:
    """Post the alert to the webhook, else log it. Returns where it went ("webhook <host>" or "log")."""
    url = webhook_url()
    summary = f"[segue alert] {payload['kind']}: job {payload['job']} run {payload['run_id']}: {payload['message']}"
    if not url:
        logger.error("%s (set %s to send alerts to a webhook)", summary, WEBHOOK_ENV)
        return "log"
    import requests

    host = urlsplit(url).netloc
    try:
        response = requests.post(url, json=payload, timeout=TIMEOUT_SECONDS)
        response.raise_for_status()
    except requests.RequestException as exc:
        # Never lose the alert: the log gets it, with the webhook's host (not its URL, which may hold a token).
        logger.error("%s (webhook %s failed: %s)", summary, host, type(exc).__name__)
        return "log"
    return f"webhook {host}"
