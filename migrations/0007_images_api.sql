-- The images and tags API (issue 12): one index per listing order, so that a page of a namespace's
-- images (or of an image's tags) is read from its order's index, and the queues of tag and image
-- deletions that the reconciler's thread works off in the registries.

-- Image listings filter by namespace and sort by created_at or name (tie: id); (namespace_id, name)
-- is already the unique index of 0002 (a name is unique in its namespace, so it needs no tie).
CREATE INDEX images_namespace_created ON images (namespace_id, created_at, id);
CREATE INDEX images_namespace_status ON images (namespace_id, status, id);

-- Tag listings, per image; (image_id, name) is the unique index of 0006.
CREATE INDEX tags_image_created ON tags (image_id, created_at, id);
CREATE INDEX tags_image_status ON tags (image_id, status, id);

-- The deletion queues: rows marked `deleting` by the API, kept until the registry has done its part.
CREATE INDEX images_deleting ON images (updated_at) WHERE status = 'deleting';
CREATE INDEX tags_deleting ON tags (updated_at) WHERE status = 'deleting';

-- Where the registry deletions of an image are looked up (its manifests and its tags' digests).
CREATE INDEX tags_image_digest ON tags (image_id, digest);
