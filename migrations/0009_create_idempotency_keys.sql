-- Responses stored under an Idempotency-Key (README, "Safe retries and conditional writes").
--
-- A row is written in the transaction of the change it answers, so that the change and its stored
-- response commit together or not at all: a retry after a crash either finds the response or finds
-- no change. Keys belong to an organization (two organizations may use one key). A row older than
-- the key lifetime (24 h) is ignored, replaced by a new request with the key, and pruned by the
-- purger (oldest first, through the created_at index).

CREATE TABLE idempotency_keys (
    organization_id uuid        NOT NULL,
    key             text        COLLATE "C" NOT NULL,
    -- The request: method, path and the SHA-256 of its body.
    fingerprint     text        NOT NULL,
    status          integer     NOT NULL,
    body            text        NOT NULL,
    etag            text,
    created_at      timestamptz NOT NULL DEFAULT now(),

    PRIMARY KEY (organization_id, key),
    CONSTRAINT idempotency_keys_key_check CHECK (char_length(key) BETWEEN 1 AND 255)
);

CREATE INDEX idempotency_keys_created_at ON idempotency_keys (created_at);
