-- Namespaces: collections of container images, named uniquely within a region.
--
-- Text columns that listings sort on use the "C" collation, so that name_asc / description_asc
-- order by bytes the same way on every server whatever its locale, and compare fast.

CREATE TABLE namespaces (
    id              uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    region          text        COLLATE "C" NOT NULL,
    name            text        COLLATE "C" NOT NULL,
    description     text        COLLATE "C" NOT NULL DEFAULT '',
    organization_id uuid        NOT NULL,
    project_id      uuid        NOT NULL,
    is_public       boolean     NOT NULL DEFAULT false,
    status          text        COLLATE "C" NOT NULL DEFAULT 'ready',
    status_message  text        NOT NULL DEFAULT '',
    size            bigint      NOT NULL DEFAULT 0,
    image_count     bigint      NOT NULL DEFAULT 0,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),

    CONSTRAINT namespaces_status_check
        CHECK (status IN ('unknown', 'ready', 'deleting', 'error', 'locked')),
    CONSTRAINT namespaces_name_check
        CHECK (name ~ '^[a-z0-9]+(-[a-z0-9]+)*$' AND char_length(name) BETWEEN 4 AND 54),
    CONSTRAINT namespaces_description_check
        CHECK (char_length(description) <= 255),
    CONSTRAINT namespaces_counters_check
        CHECK (size >= 0 AND image_count >= 0)
);

-- A name is unique within its region, across all organizations (the API answers 409 conflict).
CREATE UNIQUE INDEX namespaces_region_name_key ON namespaces (region, name);

-- One index per listing order, each led by the organization and region every listing filters on,
-- and ending in id, the tie-breaker: each order_by is an index scan, never a sort of the table.
-- project_id is included so that a project filter is checked in the index too: a page is found
-- by an index-only scan, and only its rows are read from the table.
-- The (organization_id, region, id) index also serves order_by=region and total_count.
CREATE INDEX namespaces_listing_created_at  ON namespaces (organization_id, region, created_at, id) INCLUDE (project_id);
CREATE INDEX namespaces_listing_name        ON namespaces (organization_id, region, name, id) INCLUDE (project_id);
CREATE INDEX namespaces_listing_description ON namespaces (organization_id, region, description, id) INCLUDE (project_id);
CREATE INDEX namespaces_listing_status      ON namespaces (organization_id, region, status, id) INCLUDE (project_id);
CREATE INDEX namespaces_listing_id          ON namespaces (organization_id, region, id) INCLUDE (project_id);

-- The purger's work queue: namespaces marked for deletion, oldest first.
CREATE INDEX namespaces_deleting ON namespaces (updated_at) WHERE status = 'deleting';
