WITH src AS (
  SELECT
    CAST(`customer_id` AS STRING) AS `record_key`,
    MD5(
      CONCAT(
        COALESCE(
          CAST(LENGTH(CAST(`email` AS STRING)) AS STRING) || ':' || CAST(`email` AS STRING),
          '-'
        ),
        COALESCE(
          CAST(LENGTH(CAST(`tier` AS STRING)) AS STRING) || ':' || CAST(`tier` AS STRING),
          '-'
        )
      )
    ) AS `row_hash`
  FROM `syncs`.`sync_klaviyo__vip`
), snap AS (
  SELECT
    `record_key`,
    `row_hash`
  FROM `segue`.`sync_snapshots`
  WHERE
    `sync_name` = 'sync_klaviyo__vip'
), rej AS (
  SELECT
    `record_key`,
    `row_hash`
  FROM `segue`.`sync_rejections`
  WHERE
    `sync_name` = 'sync_klaviyo__vip'
), fail AS (
  SELECT
    `record_key`
  FROM `segue`.`sync_failed_keys`
  WHERE
    `sync_name` = 'sync_klaviyo__vip'
)
SELECT
  COALESCE(`src`.`record_key`, `snap`.`record_key`) AS `record_key`,
  `src`.`row_hash` AS `row_hash`,
  CASE
    WHEN `snap`.`record_key` IS NULL AND NOT `rej`.`record_key` IS NULL
    THEN 'skip'
    WHEN `snap`.`record_key` IS NULL
    THEN 'add'
    WHEN `src`.`record_key` IS NULL
    THEN 'remove'
    WHEN `src`.`row_hash` <> `snap`.`row_hash` AND NOT `rej`.`record_key` IS NULL
    THEN 'skip'
    WHEN `src`.`row_hash` <> `snap`.`row_hash`
    THEN 'change'
    ELSE 'unchanged'
  END AS `op`,
  NOT `fail`.`record_key` IS NULL AS `is_retry`
FROM src
FULL OUTER JOIN snap
  ON `src`.`record_key` = `snap`.`record_key`
LEFT JOIN rej
  ON `rej`.`record_key` = `src`.`record_key` AND `rej`.`row_hash` = `src`.`row_hash`
LEFT JOIN fail
  ON `fail`.`record_key` = COALESCE(`src`.`record_key`, `snap`.`record_key`)
