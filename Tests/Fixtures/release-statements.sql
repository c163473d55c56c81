-- Statements of the previous release, recorded by ReleaseStatementsTests.recordThisBuildsStatements.
SELECT version, name, checksum, applied_at FROM registryd_schema_migrations ORDER BY version
;
INSERT INTO registryd_schema_migrations (version, name, checksum) VALUES ($1, $2, $3)
;
SELECT 1
;
SELECT to_regclass($1) IS NOT NULL
;
SELECT EXISTS (SELECT 1 FROM namespaces), EXISTS (SELECT 1 FROM api_keys)
;
INSERT INTO api_keys (access_key, secret_sha256, organization_id, project_id, description, expires_at)
VALUES ($1, $2, $3, $4, $5, now() + make_interval(secs => $6::bigint))
RETURNING access_key, organization_id, project_id, description, created_at, expires_at, revoked_at
;
DELETE FROM namespaces WHERE id IN (
    SELECT id FROM namespaces WHERE status = 'deleting'
     ORDER BY updated_at LIMIT $1 FOR UPDATE SKIP LOCKED)
;
SELECT access_key, organization_id, project_id, description, created_at, expires_at, revoked_at, secret_sha256 FROM api_keys WHERE secret_sha256 = $1
;
WITH usage AS (
    INSERT INTO organization_usage AS u (organization_id) VALUES ($4)
    ON CONFLICT (organization_id) DO UPDATE SET namespace_count = u.namespace_count
    RETURNING namespace_count
)
INSERT INTO namespaces (region, name, description, organization_id, project_id, is_public)
SELECT $1, $2, $3, $4, $5, $6 FROM usage WHERE usage.namespace_count < $7
RETURNING id, name, description, organization_id, project_id, status, status_message, is_public, size, image_count, created_at, updated_at, region
;
SELECT id, name, description, organization_id, project_id, status, status_message, is_public, size, image_count, created_at, updated_at, region FROM namespaces WHERE id = $1 AND region = $2 AND organization_id = $3 AND ($4::uuid IS NULL OR project_id = $4)
;
SELECT total.count, page.* FROM
  (SELECT count(*) AS count FROM namespaces WHERE organization_id = $1 AND region = $2) AS total
  LEFT JOIN (
    SELECT n.id, n.name, n.description, n.organization_id, n.project_id, n.status, n.status_message, n.is_public, n.size, n.image_count, n.created_at, n.updated_at, n.region FROM (
      SELECT id FROM namespaces WHERE organization_id = $1 AND region = $2
       ORDER BY namespaces.created_at ASC, namespaces.id ASC LIMIT $3 OFFSET $4::bigint
    ) AS keys JOIN namespaces n ON n.id = keys.id
  ) AS page ON true
 ORDER BY page.created_at ASC, page.id ASC
;
SELECT total.count, page.* FROM
  (SELECT count(*) AS count FROM namespaces WHERE organization_id = $1 AND region = $2 AND name = $3) AS total
  LEFT JOIN (
    SELECT n.id, n.name, n.description, n.organization_id, n.project_id, n.status, n.status_message, n.is_public, n.size, n.image_count, n.created_at, n.updated_at, n.region FROM (
      SELECT id FROM namespaces WHERE organization_id = $1 AND region = $2 AND name = $3
       ORDER BY namespaces.created_at ASC, namespaces.id ASC LIMIT $4 OFFSET $5::bigint
    ) AS keys JOIN namespaces n ON n.id = keys.id
  ) AS page ON true
 ORDER BY page.created_at ASC, page.id ASC
;
SELECT total.count, page.* FROM
  (SELECT count(*) AS count FROM namespaces WHERE organization_id = $1 AND region = $2) AS total
  LEFT JOIN (
    SELECT n.id, n.name, n.description, n.organization_id, n.project_id, n.status, n.status_message, n.is_public, n.size, n.image_count, n.created_at, n.updated_at, n.region FROM (
      SELECT id FROM namespaces WHERE organization_id = $1 AND region = $2
       ORDER BY namespaces.name ASC, namespaces.id ASC LIMIT $3 OFFSET $4::bigint
    ) AS keys JOIN namespaces n ON n.id = keys.id
  ) AS page ON true
 ORDER BY page.name ASC, page.id ASC
;
SELECT total.count, page.* FROM
  (SELECT count(*) AS count FROM namespaces WHERE organization_id = $1 AND region = $2) AS total
  LEFT JOIN (
    SELECT n.id, n.name, n.description, n.organization_id, n.project_id, n.status, n.status_message, n.is_public, n.size, n.image_count, n.created_at, n.updated_at, n.region FROM (
      SELECT id FROM namespaces WHERE organization_id = $1 AND region = $2
       ORDER BY namespaces.created_at DESC, namespaces.id DESC LIMIT $3 OFFSET $4::bigint
    ) AS keys JOIN namespaces n ON n.id = keys.id
  ) AS page ON true
 ORDER BY page.created_at DESC, page.id DESC
;
SELECT total.count, page.* FROM
  (SELECT count(*) AS count FROM namespaces WHERE organization_id = $1 AND region = $2 AND project_id = $3) AS total
  LEFT JOIN (
    SELECT n.id, n.name, n.description, n.organization_id, n.project_id, n.status, n.status_message, n.is_public, n.size, n.image_count, n.created_at, n.updated_at, n.region FROM (
      SELECT id FROM namespaces WHERE organization_id = $1 AND region = $2 AND project_id = $3
       ORDER BY namespaces.created_at ASC, namespaces.id ASC LIMIT $4 OFFSET $5::bigint
    ) AS keys JOIN namespaces n ON n.id = keys.id
  ) AS page ON true
 ORDER BY page.created_at ASC, page.id ASC
;
UPDATE namespaces
   SET description = COALESCE($5, description),
       is_public = COALESCE($6::boolean, is_public),
       updated_at = clock_timestamp()
 WHERE id = $1 AND region = $2 AND organization_id = $3 AND ($4::uuid IS NULL OR project_id = $4) AND status <> 'deleting'
RETURNING id, name, description, organization_id, project_id, status, status_message, is_public, size, image_count, created_at, updated_at, region
;
WITH usage AS (
    SELECT organization_id FROM organization_usage WHERE organization_id = $3 FOR UPDATE
)
UPDATE namespaces AS n
   SET status = 'deleting',
       updated_at = CASE WHEN n.status = 'deleting' THEN n.updated_at ELSE clock_timestamp() END
  FROM usage
 WHERE n.id = $1 AND n.region = $2 AND n.organization_id = usage.organization_id
   AND ($4::uuid IS NULL OR n.project_id = $4)
RETURNING n.id, n.name, n.description, n.organization_id, n.project_id, n.status, n.status_message, n.is_public, n.size, n.image_count, n.created_at, n.updated_at, n.region
;
