-- A version per namespace, the source of its strong ETag (README, "Safe retries and conditional
-- writes").
--
-- Why a counter and not updated_at: two changes within one microsecond (or a change that keeps
-- updated_at, such as a second delete or the data plane's size update) must still give two ETags.
-- A trigger bumps the counter on every UPDATE that changes any column, whoever runs it (the API,
-- the purger, the data plane), so no writer can forget it; an UPDATE that changes nothing keeps
-- the version, so a repeated delete does not invalidate the caller's ETag.
--
-- The column has a constant default, so adding it rewrites no row (PostgreSQL 11+).

ALTER TABLE namespaces ADD COLUMN version bigint NOT NULL DEFAULT 1;

CREATE FUNCTION namespaces_bump_version() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.version := OLD.version + 1;
    RETURN NEW;
END;
$$;

CREATE TRIGGER namespaces_version
    BEFORE UPDATE ON namespaces
    FOR EACH ROW WHEN (OLD IS DISTINCT FROM NEW)
    EXECUTE FUNCTION namespaces_bump_version();
