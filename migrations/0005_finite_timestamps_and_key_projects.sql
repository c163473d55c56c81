-- Timestamps are finite, and API keys are found by the project they are scoped to.
--
-- PostgreSQL accepts 'infinity' and '-infinity' in timestamptz columns, but neither the API's
-- RFC 3339 nor a moment in time has them; an operator who sets one by hand means something else.
-- Existing ones are rewritten to what they meant, then CHECK constraints refuse new ones:
--   api_keys.expires_at  'infinity' -> NULL (never expires), '-infinity' -> the epoch (expired);
--   api_keys.revoked_at  either     -> now() or the epoch (still revoked: it stays non-NULL);
--   every other column   'infinity' -> now(), '-infinity' -> the epoch.
-- (registryd reads infinite values without failing anyway: infinity as the far future,
-- -infinity as the distant past.)
--
-- Locks: ACCESS EXCLUSIVE at once, in the order api_keys, namespaces, images (0004's order;
-- organization_usage is not touched), so no lock is ever upgraded while a writer waits on us.

LOCK TABLE api_keys IN ACCESS EXCLUSIVE MODE;
LOCK TABLE namespaces IN ACCESS EXCLUSIVE MODE;
LOCK TABLE images IN ACCESS EXCLUSIVE MODE;

-- What an infinite timestamp becomes, for this migration only (pg_temp: gone with the session).
CREATE FUNCTION pg_temp.finite(t timestamptz) RETURNS timestamptz LANGUAGE sql AS $$
    SELECT CASE WHEN t IS NULL OR isfinite(t) THEN t WHEN t > now() THEN now() ELSE 'epoch'::timestamptz END
$$;

UPDATE api_keys SET expires_at = CASE WHEN expires_at > now() THEN NULL ELSE pg_temp.finite(expires_at) END
 WHERE NOT isfinite(expires_at);
UPDATE api_keys SET created_at = pg_temp.finite(created_at), revoked_at = pg_temp.finite(revoked_at)
 WHERE NOT (isfinite(created_at) AND coalesce(isfinite(revoked_at), true));
ALTER TABLE api_keys ADD CONSTRAINT api_keys_timestamps_finite
    CHECK (isfinite(created_at) AND isfinite(expires_at) AND isfinite(revoked_at));

UPDATE namespaces SET created_at = pg_temp.finite(created_at), updated_at = pg_temp.finite(updated_at)
 WHERE NOT (isfinite(created_at) AND isfinite(updated_at));
ALTER TABLE namespaces ADD CONSTRAINT namespaces_timestamps_finite
    CHECK (isfinite(created_at) AND isfinite(updated_at));

UPDATE images SET created_at = pg_temp.finite(created_at), updated_at = pg_temp.finite(updated_at)
 WHERE NOT (isfinite(created_at) AND isfinite(updated_at));
ALTER TABLE images ADD CONSTRAINT images_timestamps_finite
    CHECK (isfinite(created_at) AND isfinite(updated_at));

DROP FUNCTION pg_temp.finite(timestamptz);

-- A create naming a project that another organization's key is scoped to is refused (403): the
-- check looks keys up by project.
CREATE INDEX api_keys_project ON api_keys (project_id) WHERE project_id IS NOT NULL;
