-- Images held by namespaces. A namespace's size and image_count are derived from its images and
-- kept current by triggers, so reading a namespace never aggregates its images.

CREATE TABLE images (
    id           uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    namespace_id uuid        NOT NULL REFERENCES namespaces (id) ON DELETE CASCADE,
    name         text        COLLATE "C" NOT NULL,
    size         bigint      NOT NULL DEFAULT 0 CHECK (size >= 0),
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (namespace_id, name)
);

CREATE FUNCTION images_maintain_namespace_counters() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        UPDATE namespaces SET size = size + NEW.size, image_count = image_count + 1
         WHERE id = NEW.namespace_id;
    ELSIF TG_OP = 'DELETE' THEN
        UPDATE namespaces SET size = size - OLD.size, image_count = image_count - 1
         WHERE id = OLD.namespace_id;
    ELSIF TG_OP = 'UPDATE' THEN
        UPDATE namespaces SET size = size - OLD.size WHERE id = OLD.namespace_id;
        UPDATE namespaces SET size = size + NEW.size WHERE id = NEW.namespace_id;
        IF NEW.namespace_id <> OLD.namespace_id THEN
            UPDATE namespaces SET image_count = image_count - 1 WHERE id = OLD.namespace_id;
            UPDATE namespaces SET image_count = image_count + 1 WHERE id = NEW.namespace_id;
        END IF;
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER images_namespace_counters
    AFTER INSERT OR DELETE OR UPDATE OF size, namespace_id ON images
    FOR EACH ROW EXECUTE FUNCTION images_maintain_namespace_counters();
