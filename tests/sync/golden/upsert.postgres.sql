WITH src AS (
  SELECT
    CAST("customer_id" AS TEXT) AS "record_key",
    MD5(
      CONCAT(
        COALESCE(CAST(LENGTH(CAST("email" AS TEXT)) AS TEXT) || ':' || CAST("email" AS TEXT), '-'),
        COALESCE(
          CAST(LENGTH(CAST("first_name" AS TEXT)) AS TEXT) || ':' || CAST("first_name" AS TEXT),
          '-'
        ),
        COALESCE(CAST(LENGTH(CAST("phone" AS TEXT)) AS TEXT) || ':' || CAST("phone" AS TEXT), '-')
      )
    ) AS "row_hash"
  FROM "syncs"."sync_klaviyo__customers"
), snap AS (
  SELECT
    "record_key",
    "row_hash"
  FROM "segue"."sync_snapshots"
  WHERE
    "sync_name" = 'sync_klaviyo__customers'
), rej AS (
  SELECT
    "record_key",
    "row_hash"
  FROM "segue"."sync_rejections"
  WHERE
    "sync_name" = 'sync_klaviyo__customers'
), fail AS (
  SELECT
    "record_key"
  FROM "segue"."sync_failed_keys"
  WHERE
    "sync_name" = 'sync_klaviyo__customers'
)
SELECT
  COALESCE("src"."record_key", "snap"."record_key") AS "record_key",
  "src"."row_hash" AS "row_hash",
  CASE
    WHEN "snap"."record_key" IS NULL AND NOT "rej"."record_key" IS NULL
    THEN 'skip'
    WHEN "snap"."record_key" IS NULL
    THEN 'add'
    WHEN "src"."record_key" IS NULL
    THEN 'departed'
    WHEN "src"."row_hash" <> "snap"."row_hash" AND NOT "rej"."record_key" IS NULL
    THEN 'skip'
    WHEN "src"."row_hash" <> "snap"."row_hash"
    THEN 'change'
    ELSE 'unchanged'
  END AS "op",
  NOT "fail"."record_key" IS NULL AS "is_retry"
FROM src
FULL OUTER JOIN snap
  ON "src"."record_key" = "snap"."record_key"
LEFT JOIN rej
  ON "rej"."record_key" = "src"."record_key" AND "rej"."row_hash" = "src"."row_hash"
LEFT JOIN fail
  ON "fail"."record_key" = COALESCE("src"."record_key", "snap"."record_key")
