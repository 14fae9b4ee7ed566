WITH src AS (
  SELECT
    CAST("action_id" AS TEXT) AS "record_key",
    MD5(
      CONCAT(
        COALESCE(
          CAST(LENGTH(CAST("action_id" AS TEXT)) AS TEXT) || ':' || CAST("action_id" AS TEXT),
          '-'
        ),
        COALESCE(
          CAST(LENGTH(CAST("to_address" AS TEXT)) AS TEXT) || ':' || CAST("to_address" AS TEXT),
          '-'
        )
      )
    ) AS "row_hash",
    "scheduled_for"
  FROM "marts"."journey_actions"
), led AS (
  SELECT
    "action_id" AS "record_key",
    "status",
    "in_flight"
  FROM "segue"."sync_send_ledger"
  WHERE
    "sync_name" = 'sync_klaviyo__journeys'
)
SELECT
  "src"."record_key" AS "record_key",
  "src"."row_hash" AS "row_hash",
  CASE
    WHEN "led"."record_key" IS NULL
    AND "src"."scheduled_for" > CAST('2026-11-20 12:00:00' AS TIMESTAMP)
    THEN 'wait'
    WHEN "led"."record_key" IS NULL
    THEN 'send'
    WHEN "led"."status" = 'pending'
    THEN 'send'
    WHEN "led"."status" = 'pending'
    THEN 'unknown'
    ELSE 'done'
  END AS "op",
  NOT "led"."record_key" IS NULL AS "is_retry"
FROM src
LEFT JOIN led
  ON "src"."record_key" = "led"."record_key"
