-- Durable change events (README, "Change events (webhooks)"): every audit_log row is delivered to
-- every configured webhook endpoint at least once, in commit order per resource.
--
-- Why an outbox and not a cursor on audit_log.id: the id is an identity taken at INSERT, not at
-- COMMIT. Transaction A takes id 10, B takes 11 and commits first; a dispatcher that read 11 and
-- moved its cursor past it would never see 10. Visibility horizons (recording pg_current_xact_id()
-- and delivering only below pg_snapshot_xmin) would work too, but hold every event behind the
-- slowest transaction in flight, need a cursor per endpoint kept exactly right, and still leave
-- "which events did this endpoint get" implicit. Here a trigger on audit_log inserts one row per
-- endpoint into webhook_deliveries in the transaction of the change itself: the pending row exists
-- exactly when the change committed, whatever order transactions commit in, and the dispatcher
-- simply works through the rows that exist, deleting each once its endpoint answered 2xx. A
-- delivered row is deleted, so the table holds the backlog and nothing else.
--
-- Order per resource: two changes of one resource are serialized by the resource's row lock, and
-- the later one's audit row (an AFTER trigger, after the lock was granted) is inserted only once
-- the earlier one committed, so event_id order is commit order per resource. A claim takes the
-- heads first, events with no earlier pending event of the same resource for the same endpoint (in
-- backoff or claimed by another instance: the NOT EXISTS, on webhook_deliveries_resource), then
-- the events that follow its own heads, which nobody else can take while it holds the heads.
--
-- Several instances: claims are SELECT ... FOR UPDATE SKIP LOCKED in a transaction held while the
-- batch is posted; a killed instance's connection closes, its locks go with it and the rows are
-- claimed again (at least once: a POST the receiver got before the kill is repeated).
--
-- webhook_endpoints holds the names in WEBHOOK_URLS; registryd writes it at start-up (adding new
-- names, removing dropped ones with their backlog). No row there, no delivery stored: without
-- WEBHOOK_URLS the trigger inserts nothing. An endpoint receives the changes made after it was
-- first registered. webhook_deliveries.endpoint has no foreign key to webhook_endpoints on
-- purpose: its check would take a KEY SHARE lock on the endpoint's row in every write transaction,
-- and many concurrent lockers of one row churn through MultiXacts. Registration deletes the rows of
-- dropped endpoints itself (including any a transaction racing with it inserted).

CREATE TABLE webhook_endpoints (
    name          text        PRIMARY KEY,
    registered_at timestamptz NOT NULL DEFAULT clock_timestamp()
);

CREATE TABLE webhook_deliveries (
    endpoint        text        NOT NULL,  -- no foreign key: see below
    event_id        bigint      NOT NULL REFERENCES audit_log (id) ON DELETE CASCADE,
    resource_type   text        NOT NULL,
    resource_id     text        NOT NULL,
    attempts        integer     NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT '-infinity',
    last_error      text,
    PRIMARY KEY (endpoint, event_id)
);

CREATE INDEX webhook_deliveries_resource ON webhook_deliveries (endpoint, resource_type, resource_id, event_id);
-- audit_log rows archived by an operator take their pending deliveries with them (the cascade).
CREATE INDEX webhook_deliveries_event ON webhook_deliveries (event_id);

CREATE FUNCTION audit_log_enqueue_webhooks() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO webhook_deliveries (endpoint, event_id, resource_type, resource_id)
    SELECT name, NEW.id, NEW.resource_type, NEW.resource_id FROM webhook_endpoints;
    RETURN NULL;
END;
$$;

CREATE TRIGGER audit_log_webhooks
    AFTER INSERT ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_enqueue_webhooks();
