-- The audit trail (README, "Audit trail"): one row per change, written by triggers in the
-- transaction of the change, so that a change that commits always has its row and a change that
-- rolls back (a refused or failed request) never does.
--
-- Who and why come from transaction-local settings the API sets at the start of each write's
-- transaction (ChangeTransaction): registryd.access_key and registryd.request_id. A change of a
-- namespace made without them (the purger's final removal, the data plane's size and image
-- counters) is the service's own bookkeeping, not an API change, and is not recorded. API keys
-- are recorded whoever changes them; the operator's `registryd api-key` leaves access_key NULL.
-- The secret's digest never enters the trail.

CREATE TABLE audit_log (
    id              bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at              timestamptz NOT NULL DEFAULT clock_timestamp(),
    access_key      text,
    organization_id uuid        NOT NULL,
    request_id      text,
    action          text        NOT NULL,
    resource_type   text        NOT NULL,
    resource_id     text        NOT NULL,
    before          jsonb,
    after           jsonb
);

CREATE INDEX audit_log_at ON audit_log (at, id);
CREATE INDEX audit_log_organization ON audit_log (organization_id, at, id);
CREATE INDEX audit_log_resource ON audit_log (resource_id, at, id);

CREATE FUNCTION namespaces_audit() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    request text := NULLIF(current_setting('registryd.request_id', true), '');
BEGIN
    IF request IS NULL THEN
        RETURN NULL;
    END IF;
    INSERT INTO audit_log (access_key, organization_id, request_id, action, resource_type, resource_id, before, after)
    VALUES (NULLIF(current_setting('registryd.access_key', true), ''), NEW.organization_id, request,
            CASE WHEN TG_OP = 'INSERT' THEN 'namespace.create'
                 WHEN NEW.status = 'deleting' AND OLD.status <> 'deleting' THEN 'namespace.delete'
                 ELSE 'namespace.update' END,
            'namespace', NEW.id::text,
            CASE WHEN TG_OP = 'UPDATE' THEN to_jsonb(OLD) END, to_jsonb(NEW));
    RETURN NULL;
END;
$$;

CREATE TRIGGER namespaces_audit_insert
    AFTER INSERT ON namespaces
    FOR EACH ROW EXECUTE FUNCTION namespaces_audit();

CREATE TRIGGER namespaces_audit_update
    AFTER UPDATE ON namespaces
    FOR EACH ROW WHEN (OLD IS DISTINCT FROM NEW)
    EXECUTE FUNCTION namespaces_audit();

CREATE FUNCTION api_keys_audit() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO audit_log (access_key, organization_id, request_id, action, resource_type, resource_id, before, after)
    VALUES (NULLIF(current_setting('registryd.access_key', true), ''), NEW.organization_id,
            NULLIF(current_setting('registryd.request_id', true), ''),
            CASE WHEN TG_OP = 'INSERT' THEN 'api_key.create' ELSE 'api_key.revoke' END,
            'api_key', NEW.access_key,
            CASE WHEN TG_OP = 'UPDATE' THEN to_jsonb(OLD) - 'secret_sha256' END, to_jsonb(NEW) - 'secret_sha256');
    RETURN NULL;
END;
$$;

CREATE TRIGGER api_keys_audit_insert
    AFTER INSERT ON api_keys
    FOR EACH ROW EXECUTE FUNCTION api_keys_audit();

CREATE TRIGGER api_keys_audit_revoke
    AFTER UPDATE ON api_keys
    FOR EACH ROW WHEN (OLD.revoked_at IS NULL AND NEW.revoked_at IS NOT NULL)
    EXECUTE FUNCTION api_keys_audit();
