-- What the registries hold, as their notifications and the reconciler report it: images (one per
-- repository below a namespace), the manifests pushed to each image with the blobs and child
-- manifests they reference, tags, and the ids of notifications already applied.
--
-- An image's size is the sum of the distinct blobs reachable from its tags (through the child
-- manifests of an index); images_maintain_namespace_counters (0002) adds it into its namespace's
-- size and counts the namespace's images, so reading a namespace still aggregates nothing.

ALTER TABLE images
    ADD COLUMN status         text COLLATE "C" NOT NULL DEFAULT 'ready',
    ADD COLUMN status_message text NOT NULL DEFAULT '',
    ADD COLUMN visibility     text COLLATE "C" NOT NULL DEFAULT 'inherit',
    ADD CONSTRAINT images_status_check CHECK (status IN ('unknown', 'ready', 'deleting', 'error', 'locked')),
    ADD CONSTRAINT images_visibility_check CHECK (visibility IN ('inherit', 'public', 'private'));

-- A manifest (or index) pushed to an image, by digest. Kept while the registry serves it, tagged
-- or not: an untagged child of an index is reached through the index.
CREATE TABLE manifests (
    image_id   uuid        NOT NULL REFERENCES images (id) ON DELETE CASCADE,
    digest     text        COLLATE "C" NOT NULL,
    media_type text        NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (image_id, digest)
);

-- What a manifest references: its config and layers (blobs, with their sizes), or for an index
-- its child manifests (is_manifest).
CREATE TABLE manifest_references (
    image_id        uuid   NOT NULL,
    manifest_digest text   COLLATE "C" NOT NULL,
    digest          text   COLLATE "C" NOT NULL,
    media_type      text   NOT NULL DEFAULT '',
    size            bigint NOT NULL CHECK (size >= 0),
    is_manifest     boolean NOT NULL,
    PRIMARY KEY (image_id, manifest_digest, digest),
    FOREIGN KEY (image_id, manifest_digest) REFERENCES manifests (image_id, digest) ON DELETE CASCADE
);

-- A tag names a manifest digest. The digest need not have a manifests row yet: the registry's
-- events may arrive in any order after a restart, and the size simply counts what is known.
CREATE TABLE tags (
    id         uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    image_id   uuid        NOT NULL REFERENCES images (id) ON DELETE CASCADE,
    name       text        COLLATE "C" NOT NULL,
    digest     text        COLLATE "C" NOT NULL,
    status     text        COLLATE "C" NOT NULL DEFAULT 'ready',
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT tags_status_check CHECK (status IN ('unknown', 'ready', 'deleting', 'error', 'locked')),
    UNIQUE (image_id, name)
);

-- Notification ids already applied: the registry delivers at least once. Pruned after a day.
CREATE TABLE registry_events (
    id          text        COLLATE "C" PRIMARY KEY,
    received_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX registry_events_received_at ON registry_events (received_at);

-- The size of an image: each distinct blob reachable from its tags counted once. PL/pgSQL rather
-- than SQL so that the plan is cached per connection (a SQL function is planned on every call,
-- which was most of an event's cost).
CREATE FUNCTION image_content_size(target uuid) RETURNS bigint
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN (
        WITH RECURSIVE reachable (digest) AS (
            SELECT digest FROM tags WHERE image_id = target
            UNION
            SELECT r.digest FROM manifest_references r JOIN reachable m ON r.manifest_digest = m.digest
             WHERE r.image_id = target AND r.is_manifest
        ), blobs AS (
            SELECT r.digest, max(r.size) AS size
              FROM manifest_references r JOIN reachable m ON r.manifest_digest = m.digest
             WHERE r.image_id = target AND NOT r.is_manifest
             GROUP BY r.digest
        )
        SELECT COALESCE(sum(size), 0)::bigint FROM blobs);
END;
$$;

-- Manifests the registries must delete: every digest ever recorded in an image or namespace that
-- is removed, so that a later owner of a reused name can never pull the old content. Queued here
-- by the triggers below (whatever removes the rows: the purger, an image delete, the reconciler)
-- and worked off by the reconciler's thread; a row stays until the registry answers 202 or 404.
CREATE TABLE registry_deletions (
    id         bigserial   PRIMARY KEY,
    region     text        COLLATE "C" NOT NULL,
    repository text        COLLATE "C" NOT NULL,
    digest     text        COLLATE "C" NOT NULL,
    attempts   integer     NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL DEFAULT now()
);
-- The token service grants nothing on a repository with deletions pending (see RepositoryAccess).
CREATE INDEX registry_deletions_repository ON registry_deletions (region, repository);

CREATE FUNCTION namespaces_queue_registry_deletions() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO registry_deletions (region, repository, digest)
    SELECT OLD.region, OLD.name || '/' || i.name, m.digest
      FROM images i JOIN manifests m ON m.image_id = i.id
     WHERE i.namespace_id = OLD.id;
    RETURN OLD;
END;
$$;

CREATE TRIGGER namespaces_registry_deletions
    BEFORE DELETE ON namespaces
    FOR EACH ROW EXECUTE FUNCTION namespaces_queue_registry_deletions();

-- An image removed on its own (when its namespace goes, the namespace trigger has queued it).
CREATE FUNCTION images_queue_registry_deletions() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO registry_deletions (region, repository, digest)
    SELECT n.region, n.name || '/' || OLD.name, m.digest
      FROM namespaces n JOIN manifests m ON m.image_id = OLD.id
     WHERE n.id = OLD.namespace_id;
    RETURN OLD;
END;
$$;

CREATE TRIGGER images_registry_deletions
    BEFORE DELETE ON images
    FOR EACH ROW EXECUTE FUNCTION images_queue_registry_deletions();

-- One registry notification applied in one round trip: dedupe by id, lock the namespace (a
-- `ready` one of the region, else 'ignored'), then the change. `refs` is a JSON array of
-- {"digest","media_type","size","is_manifest"}. Returns 'applied', 'duplicate' or 'ignored'.
-- A manifest pushed where no ready namespace is, or before the namespace of that name was created
-- (an event that arrived after its namespace was deleted, maybe after the name was taken again),
-- belongs to nobody: it is queued for deletion in the registry instead of being recorded.
-- Pushes need a token, granted only on a ready namespace, so no legitimate push lands here.
CREATE FUNCTION registry_apply_event(
    event_id text, event_region text, namespace_name text, image_name text,
    action text, manifest_digest text, manifest_media_type text, tag_name text, refs jsonb,
    event_time timestamptz
) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    target_namespace uuid;
    namespace_created timestamptz;
    target_image uuid;
    new_size bigint;
BEGIN
    -- The registry is the truth and the reconciler repairs what a crash loses: the commit of an
    -- event need not wait for the disk (local to this statement's transaction).
    PERFORM set_config('synchronous_commit', 'off', true);
    INSERT INTO registry_events (id) VALUES (event_id) ON CONFLICT DO NOTHING;
    IF NOT FOUND THEN
        RETURN 'duplicate';
    END IF;
    SELECT id, created_at INTO target_namespace, namespace_created FROM namespaces
     WHERE region = event_region AND name = namespace_name AND status = 'ready' FOR UPDATE;
    -- 5 s of allowance for the registry's clock running behind PostgreSQL's.
    IF target_namespace IS NULL OR event_time < namespace_created - interval '5 seconds' THEN
        IF action = 'push' THEN
            INSERT INTO registry_deletions (region, repository, digest)
            VALUES (event_region, namespace_name || '/' || image_name, manifest_digest);
        END IF;
        RETURN 'ignored';
    END IF;
    IF action = 'push' THEN
        INSERT INTO images (namespace_id, name) VALUES (target_namespace, image_name)
        ON CONFLICT (namespace_id, name) DO UPDATE SET updated_at = now()
        RETURNING id INTO target_image;
        INSERT INTO manifests (image_id, digest, media_type) VALUES (target_image, manifest_digest, manifest_media_type)
        ON CONFLICT DO NOTHING;
        INSERT INTO manifest_references (image_id, manifest_digest, digest, media_type, size, is_manifest)
        SELECT target_image, manifest_digest, r.digest, r.media_type, r.size, r.is_manifest
          FROM jsonb_to_recordset(refs) AS r (digest text, media_type text, size bigint, is_manifest boolean)
        ON CONFLICT DO NOTHING;
        IF tag_name IS NOT NULL THEN
            INSERT INTO tags (image_id, name, digest) VALUES (target_image, tag_name, manifest_digest)
            ON CONFLICT (image_id, name) DO UPDATE SET digest = EXCLUDED.digest, updated_at = now()
             WHERE tags.digest <> EXCLUDED.digest;
        END IF;
        UPDATE namespaces SET updated_at = now() WHERE id = target_namespace;
    ELSE
        SELECT id INTO target_image FROM images WHERE namespace_id = target_namespace AND name = image_name;
        IF target_image IS NULL THEN
            RETURN 'ignored';
        END IF;
        IF manifest_digest IS NOT NULL THEN
            DELETE FROM tags WHERE image_id = target_image AND digest = manifest_digest;
            DELETE FROM manifests WHERE image_id = target_image AND digest = manifest_digest;
        ELSE
            DELETE FROM tags WHERE image_id = target_image AND name = tag_name;
        END IF;
    END IF;
    new_size := image_content_size(target_image);
    UPDATE images SET size = new_size, updated_at = now() WHERE id = target_image AND size <> new_size;
    RETURN 'applied';
END;
$$;
