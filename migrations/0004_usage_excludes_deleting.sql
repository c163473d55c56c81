-- organization_usage counts the namespaces an organization holds that are NOT being deleted, and
-- every writer takes its locks in one order, so that no interleaving of creates, deletes and
-- purgers can deadlock.
--
-- Why: until now the purger's DELETE decremented the count from a trigger, locking the usage row
-- after the namespace rows it had deleted, while a create locks the usage row first and then, when
-- it inserts a name the purger is deleting, waits on the purger's transaction (the unique index on
-- (region, name)): a cycle, which PostgreSQL broke by killing one of them; and purgers deleting
-- rows of several organizations locked usage rows in different orders (README, "Creates, deletes
-- and purgers never deadlock", has the numbers).
--
-- Now a namespace stops counting when it is marked 'deleting' (its quota slot is free at once),
-- and the purger's DELETE of a 'deleting' row fires no usage trigger. The lock order of every
-- writer is
--
--     organization_usage row  ->  namespaces rows  ->  images rows
--
-- create: locks its organization's usage row, then inserts the namespace;
-- delete (marking): locks the usage row, then updates the namespace (whose trigger then changes
--   the row it already holds);
-- purger: deletes 'deleting' namespaces (and, by cascade, their images), never a usage row; when
--   a row cannot be deleted it is marked 'error', the usage row locked first;
-- PATCH: changes columns no usage trigger watches.
--
-- Back-fills: a migration that derives rows from a table must lock that table against writes
-- first (SHARE mode or stronger), taking its locks in the order above, or a write committed while
-- it reads is never counted. 0003's back-fill did not; this migration recomputes every counter
-- under those locks. (ACCESS EXCLUSIVE on namespaces, since replacing its triggers needs it.)

LOCK TABLE organization_usage IN EXCLUSIVE MODE;
LOCK TABLE namespaces IN ACCESS EXCLUSIVE MODE;

CREATE OR REPLACE FUNCTION namespaces_maintain_organization_usage() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    -- The WHEN clauses of the triggers call this only when a row starts or stops counting, or
    -- moves to another organization.
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        IF OLD.status <> 'deleting' THEN
            UPDATE organization_usage SET namespace_count = namespace_count - 1
             WHERE organization_id = OLD.organization_id;
        END IF;
    END IF;
    IF TG_OP IN ('UPDATE', 'INSERT') THEN
        IF NEW.status <> 'deleting' THEN
            INSERT INTO organization_usage AS u (organization_id, namespace_count)
            VALUES (NEW.organization_id, 1)
            ON CONFLICT (organization_id) DO UPDATE SET namespace_count = u.namespace_count + 1;
        END IF;
    END IF;
    RETURN NULL;
END;
$$;

DROP TRIGGER namespaces_organization_usage ON namespaces;

CREATE TRIGGER namespaces_organization_usage_insert
    AFTER INSERT ON namespaces
    FOR EACH ROW WHEN (NEW.status <> 'deleting')
    EXECUTE FUNCTION namespaces_maintain_organization_usage();

-- Not called for the purger's deletes: their rows stopped counting when they were marked.
CREATE TRIGGER namespaces_organization_usage_delete
    AFTER DELETE ON namespaces
    FOR EACH ROW WHEN (OLD.status <> 'deleting')
    EXECUTE FUNCTION namespaces_maintain_organization_usage();

CREATE TRIGGER namespaces_organization_usage_update
    AFTER UPDATE OF status, organization_id ON namespaces
    FOR EACH ROW WHEN ((OLD.status = 'deleting') IS DISTINCT FROM (NEW.status = 'deleting')
                       OR OLD.organization_id IS DISTINCT FROM NEW.organization_id)
    EXECUTE FUNCTION namespaces_maintain_organization_usage();

-- Every counter recomputed from the rows, which no one can change until this commits.
INSERT INTO organization_usage (organization_id, namespace_count)
SELECT DISTINCT organization_id, 0 FROM namespaces
ON CONFLICT (organization_id) DO NOTHING;

UPDATE organization_usage AS u
   SET namespace_count = (SELECT count(*) FROM namespaces AS n
                           WHERE n.organization_id = u.organization_id AND n.status <> 'deleting');
