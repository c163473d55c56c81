-- Versions (strong ETags) and the audit trail for images and tags, as 0008 and 0010 give them to
-- namespaces (README, "Safe retries, conditional writes and the audit trail").
--
-- Versions. An image's ETag is its row version; a tag's is its own. A trigger bumps the version
-- on every UPDATE that changes the row, whoever runs it (the API, a registry event, the
-- reconciler). An image's JSON also lists its tags' names, which live in `tags`: adding or
-- removing a tag bumps the image's version too (tags_bump_image_version), so that an ETag read
-- before a push or an untag no longer matches after it. Both columns have a constant default:
-- adding them rewrites no row.
--
-- Audit. API changes are recorded as for namespaces, when the write's transaction carries
-- registryd.request_id (ChangeTransaction): image.update (visibility), image.delete (marked
-- deleting), tag.delete (marked deleting; with force=true, one row per tag marked).
--
-- Decision: pushes are recorded too. An operator wants to know who pushed what, and the registry's
-- notification says it: its actor is the subject of the token registryd issued, which is the
-- access key that asked for it (TokenAPI). The event receiver sets registryd.event_actor and
-- registryd.event_request_id (the registry's request id, else the event id) for the one statement
-- that applies an event, and these triggers record: image.push (an image created by a push),
-- tag.push (a new tag), tag.update (a tag moved to another digest), tag.delete (a tag removed in
-- the registry itself, by a manifest or tag delete sent to it). access_key is the actor. Not
-- recorded: an image's size and updated_at moving with a push (bookkeeping, visible in the
-- tag rows), the reconciler's repairs (what a lost notification missed, and the removal of rows
-- the API marked deleting: the mark is the recorded change), and anonymous pushes (none: a push
-- needs a token). The namespace triggers of 0010 look only at registryd.request_id, so the data
-- plane's namespace counters stay unrecorded. audit_log itself is unchanged: only new actions.

ALTER TABLE images ADD COLUMN version bigint NOT NULL DEFAULT 1;
ALTER TABLE tags ADD COLUMN version bigint NOT NULL DEFAULT 1;

CREATE FUNCTION rows_bump_version() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.version := OLD.version + 1;
    RETURN NEW;
END;
$$;

CREATE TRIGGER images_version
    BEFORE UPDATE ON images
    FOR EACH ROW WHEN (OLD IS DISTINCT FROM NEW)
    EXECUTE FUNCTION rows_bump_version();

CREATE TRIGGER tags_version
    BEFORE UPDATE ON tags
    FOR EACH ROW WHEN (OLD IS DISTINCT FROM NEW)
    EXECUTE FUNCTION rows_bump_version();

-- A tag added or removed changes its image's JSON (the tag names). The image row is already
-- locked by whoever adds or removes tags (a push upserts it first; removals lock the namespace,
-- then the image), so this adds no lock order. When the image itself is being deleted (cascade),
-- its row is gone and the UPDATE matches nothing.
--
-- Skipped when this transaction has already written the image row (its xmin is ours): that write
-- bumped the version (or inserted the row, which nobody else has seen), so no ETag read before
-- this transaction can match after it. (Every writer that adds or removes tags writes the image
-- first with a change, updated_at = now(), or not at all: a no-op first write, which would leave the
-- version, is only the API's repeated image delete, which touches no tag.) A push upserts its
-- image first, so this saves an UPDATE
-- per pushed tag on the event path (README, "Images and tags": the cost of this migration for an
-- event, measured with and without that UPDATE).
CREATE FUNCTION tags_bump_image_version() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE images SET version = version + 1
     WHERE id = COALESCE(NEW.image_id, OLD.image_id) AND xmin <> pg_current_xact_id()::xid;
    RETURN NULL;
END;
$$;

CREATE TRIGGER tags_image_version
    AFTER INSERT OR DELETE ON tags
    FOR EACH ROW EXECUTE FUNCTION tags_bump_image_version();

CREATE FUNCTION images_audit() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    request text := NULLIF(current_setting('registryd.request_id', true), '');
    event_request text := NULLIF(current_setting('registryd.event_request_id', true), '');
    act text;
    organization uuid;
BEGIN
    IF request IS NOT NULL THEN
        act := CASE WHEN TG_OP = 'INSERT' THEN NULL
                    WHEN NEW.status = 'deleting' AND OLD.status <> 'deleting' THEN 'image.delete'
                    ELSE 'image.update' END;
    ELSIF event_request IS NOT NULL AND TG_OP = 'INSERT' THEN
        act := 'image.push';
    END IF;
    IF act IS NULL THEN
        RETURN NULL;
    END IF;
    SELECT organization_id INTO organization FROM namespaces WHERE id = NEW.namespace_id;
    INSERT INTO audit_log (access_key, organization_id, request_id, action, resource_type, resource_id, before, after)
    VALUES (NULLIF(current_setting(CASE WHEN request IS NOT NULL THEN 'registryd.access_key'
                                        ELSE 'registryd.event_actor' END, true), ''),
            organization, COALESCE(request, event_request), act, 'image', NEW.id::text,
            CASE WHEN TG_OP = 'UPDATE' THEN to_jsonb(OLD) END, to_jsonb(NEW));
    RETURN NULL;
END;
$$;

CREATE TRIGGER images_audit_insert
    AFTER INSERT ON images
    FOR EACH ROW EXECUTE FUNCTION images_audit();

-- Only the API's updates are recorded: the condition keeps the data plane's two or three updates
-- of an image per push from calling the function at all.
CREATE TRIGGER images_audit_update
    AFTER UPDATE ON images
    FOR EACH ROW WHEN (OLD IS DISTINCT FROM NEW AND COALESCE(current_setting('registryd.request_id', true), '') <> '')
    EXECUTE FUNCTION images_audit();

CREATE FUNCTION tags_audit() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    request text := NULLIF(current_setting('registryd.request_id', true), '');
    event_request text := NULLIF(current_setting('registryd.event_request_id', true), '');
    act text;
    organization uuid;
    image uuid := CASE WHEN TG_OP = 'DELETE' THEN OLD.image_id ELSE NEW.image_id END;
BEGIN
    IF request IS NOT NULL THEN
        IF TG_OP = 'UPDATE' AND NEW.status = 'deleting' AND OLD.status <> 'deleting' THEN
            act := 'tag.delete';
        END IF;
    ELSIF event_request IS NOT NULL THEN
        act := CASE WHEN TG_OP = 'INSERT' THEN 'tag.push'
                    -- A tag the API marked deleting was recorded then (the registry's delete
                    -- events that follow the reconciler's untag are its bookkeeping).
                    WHEN TG_OP = 'DELETE' THEN CASE WHEN OLD.status <> 'deleting' THEN 'tag.delete' END
                    WHEN NEW.digest <> OLD.digest THEN 'tag.update' END;
    END IF;
    IF act IS NULL THEN
        RETURN NULL;
    END IF;
    SELECT n.organization_id INTO organization
      FROM images i JOIN namespaces n ON n.id = i.namespace_id WHERE i.id = image;
    IF organization IS NULL THEN
        RETURN NULL;  -- removed with its image: the image's change is the recorded one
    END IF;
    INSERT INTO audit_log (access_key, organization_id, request_id, action, resource_type, resource_id, before, after)
    VALUES (NULLIF(current_setting(CASE WHEN request IS NOT NULL THEN 'registryd.access_key'
                                        ELSE 'registryd.event_actor' END, true), ''),
            organization, COALESCE(request, event_request), act, 'tag',
            CASE WHEN TG_OP = 'DELETE' THEN OLD.id ELSE NEW.id END::text,
            CASE WHEN TG_OP <> 'INSERT' THEN to_jsonb(OLD) END,
            CASE WHEN TG_OP <> 'DELETE' THEN to_jsonb(NEW) END);
    RETURN NULL;
END;
$$;

CREATE TRIGGER tags_audit_insert_delete
    AFTER INSERT OR DELETE ON tags
    FOR EACH ROW EXECUTE FUNCTION tags_audit();

CREATE TRIGGER tags_audit_update
    AFTER UPDATE ON tags
    FOR EACH ROW WHEN (OLD IS DISTINCT FROM NEW)
    EXECUTE FUNCTION tags_audit();
