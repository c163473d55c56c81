-- API keys, and the per-organization namespace count that the quota is checked against.

-- A key authenticates as an organization, optionally scoped to one of its projects. Only the
-- SHA-256 of the secret key is stored: the secret itself is shown once, when the key is created.
-- The secret is a random UUID (122 random bits), so an unsalted digest cannot be reversed by
-- guessing; a digest leaked from a backup does not authenticate.
CREATE TABLE api_keys (
    access_key      text        PRIMARY KEY,
    secret_sha256   text        NOT NULL,
    organization_id uuid        NOT NULL,
    project_id      uuid,
    description     text        NOT NULL DEFAULT '',
    created_at      timestamptz NOT NULL DEFAULT now(),
    expires_at      timestamptz,
    revoked_at      timestamptz,

    CONSTRAINT api_keys_access_key_check CHECK (access_key ~ '^SCW[A-Z0-9]{17}$'),
    CONSTRAINT api_keys_secret_sha256_check CHECK (secret_sha256 ~ '^[0-9a-f]{64}$'),
    CONSTRAINT api_keys_description_check CHECK (char_length(description) <= 255)
);

CREATE UNIQUE INDEX api_keys_secret_sha256_key ON api_keys (secret_sha256);
CREATE INDEX api_keys_organization ON api_keys (organization_id, created_at);

-- How many namespaces each organization holds, in all regions. Kept by the triggers below, so
-- that it is right whatever writes to namespaces; the create statement locks an organization's
-- row before inserting, which makes the quota check exact under concurrent creates.
CREATE TABLE organization_usage (
    organization_id uuid   PRIMARY KEY,
    namespace_count bigint NOT NULL DEFAULT 0 CHECK (namespace_count >= 0)
);

INSERT INTO organization_usage (organization_id, namespace_count)
SELECT organization_id, count(*) FROM namespaces GROUP BY organization_id;

CREATE FUNCTION namespaces_maintain_organization_usage() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO organization_usage AS u (organization_id, namespace_count)
        VALUES (NEW.organization_id, 1)
        ON CONFLICT (organization_id) DO UPDATE SET namespace_count = u.namespace_count + 1;
    ELSIF TG_OP = 'DELETE' THEN
        UPDATE organization_usage SET namespace_count = namespace_count - 1
         WHERE organization_id = OLD.organization_id;
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER namespaces_organization_usage
    AFTER INSERT OR DELETE ON namespaces
    FOR EACH ROW EXECUTE FUNCTION namespaces_maintain_organization_usage();
