"""The image and tag scenarios of `make bench` (issues 12 and 10): a namespace of the big
organization holding 10,000 images (one tag each) and one more image with 1,000 tags; images
listed 100 at a time and fetched by id, that image's tags listed 100 at a time (random page 1 to
10) and tags fetched by id, each against the very statements the endpoint ran, read back from
pg_stat_statements (see bench.py). Listing tags runs two statements: the image's lookup (is it
the caller's?) on the read pipeline's connections, then the page in the listing lane; the lane's
one connection is the bottleneck, so the baseline is the page's statement with one client."""

import os

IMAGES = 10_000
TAGS = 1_000  # of the one image `many`
MANY_SQL = "md5('img-many')::uuid"
# Namespace seed-3 (md5('ns3')) belongs to the big organization and is in fr-par (3 % 3 == 0).
NAMESPACE_SQL = "md5('ns3')::uuid"


def image_uuid(j: int) -> str:
    import hashlib
    digest = hashlib.md5(f"img{j}".encode()).hexdigest()
    return f"{digest[0:8]}-{digest[8:12]}-{digest[12:16]}-{digest[16:20]}-{digest[20:32]}"


def uuid_of(text: str) -> str:
    import hashlib
    digest = hashlib.md5(text.encode()).hexdigest()
    return f"{digest[0:8]}-{digest[8:12]}-{digest[12:16]}-{digest[16:20]}-{digest[20:32]}"


def seed_images(psql, url: str):
    """10,000 images with a tag each (tag ids md5('tag' || j)) in namespace seed-3, and the image
    `many` with 1,000 tags; counters set as the triggers would."""
    psql(url, f"""
        SET session_replication_role = replica;
        INSERT INTO images (id, namespace_id, name, size, created_at, updated_at)
        SELECT md5('img' || j)::uuid, {NAMESPACE_SQL}, 'image-' || j, 1000 + j,
               now() - ({IMAGES} - j) * interval '1 millisecond', now()
          FROM generate_series(1, {IMAGES}) AS j;
        INSERT INTO tags (id, image_id, name, digest)
        SELECT md5('tag' || j)::uuid, md5('img' || j)::uuid, 'latest', 'sha256:' || md5('img' || j) || md5('img' || j)
          FROM generate_series(1, {IMAGES}) AS j;
        INSERT INTO images (id, namespace_id, name, size) VALUES ({MANY_SQL}, {NAMESPACE_SQL}, 'many', 5000);
        INSERT INTO tags (id, image_id, name, digest, created_at)
        SELECT md5('mtag' || k)::uuid, {MANY_SQL}, 'v' || k, 'sha256:' || md5('m' || k) || md5('m' || k),
               now() - ({TAGS} - k) * interval '1 millisecond'
          FROM generate_series(1, {TAGS}) AS k;
        UPDATE namespaces SET image_count = {IMAGES} + 1, size = (SELECT sum(size) FROM images WHERE namespace_id = {NAMESPACE_SQL})
         WHERE id = {NAMESPACE_SQL}""")
    psql(url, "VACUUM ANALYZE images")
    psql(url, "VACUUM ANALYZE tags")


def lua_bodies(token: str) -> dict:
    """wrk request functions for the two scenarios."""
    namespace = "{ns}"
    ids = ",".join(f'"{image_uuid(j)}"' for j in range(1, IMAGES + 1))
    tag_ids = ",".join(f'"{uuid_of(f"tag{j}")}"' for j in range(1, IMAGES + 1))
    return {
        "list_tags": f"""
request = function()
  return wrk.format("GET", "/registry/v1/regions/fr-par/images/{uuid_of('img-many')}/tags?page_size=100&page=" .. math.random(1, 10),
    {{["X-Auth-Token"] = "{token}"}})
end
""",
        "get_tag": f"""
local ids = {{{tag_ids}}}
request = function()
  return wrk.format("GET", "/registry/v1/regions/fr-par/tags/" .. ids[math.random(#ids)], {{["X-Auth-Token"] = "{token}"}})
end
""",
        "list_images": f"""
request = function()
  return wrk.format("GET", "/registry/v1/regions/fr-par/images?namespace_id={namespace}&page_size=100&page=" .. math.random(1, 20),
    {{["X-Auth-Token"] = "{token}"}})
end
""",
        "get_image": f"""
local ids = {{{ids}}}
request = function()
  return wrk.format("GET", "/registry/v1/regions/fr-par/images/" .. ids[math.random(#ids)], {{["X-Auth-Token"] = "{token}"}})
end
""",
    }


def write_lua(directory: str, common: str, token: str, namespace_id: str) -> dict:
    paths = {}
    for name, body in lua_bodies(token).items():
        path = os.path.join(directory, f"{name}.lua")
        with open(path, "w") as file:
            file.write(common + body.replace("{ns}", namespace_id))
        paths[name] = path
    return paths


def constants(sql: str, known: int) -> dict:
    """Bindings for the constants pg_stat_statements turned into $n past the `known` parameters:
    the tag separator of string_agg, and `true` of the listing's `ON true`."""
    import re
    bindings = {}
    for number in sorted({int(n) for n in re.findall(r"\$(\d+)", sql)}):
        if number > known:
            bindings[number] = "','" if f"string_agg(t.name, ${number}" in sql else "true"
    return bindings


def pgbench_scripts(statement, write, org0: str):
    """The GET and listing statements as pgbench scripts, with the wrk scenarios' random choices."""
    get = statement(["FROM images i JOIN namespaces n ON n.id = i.namespace_id WHERE i.id = $1"])
    write("get_image", "\\set j random(1, %d)\n" % IMAGES, get,
          {1: "md5('img' || :j)::uuid", 2: "'fr-par'", 3: f"'{org0}'::uuid", 4: "NULL", **constants(get, 4)})
    listing = statement(["SELECT total.count", "images.namespace_id = $3", "ORDER BY images.created_at ASC"])
    write("list_images", "\\set offset (random(1, 20) - 1) * 100\n", listing,
          {1: f"'{org0}'::uuid", 2: "'fr-par'", 3: NAMESPACE_SQL, 4: "100", 5: ":offset", **constants(listing, 5)})
    scope = {2: "'fr-par'", 3: f"'{org0}'::uuid", 4: "NULL"}
    tag = statement(["FROM tags t JOIN images i ON i.id = t.image_id JOIN namespaces n", "WHERE t.id = $1"])
    write("get_tag", "\\set j random(1, %d)\n" % IMAGES, tag, {1: "md5('tag' || :j)::uuid", **scope})
    tags = statement(["SELECT total.count", "FROM tags WHERE tags.image_id = $1", "OFFSET"])
    write("list_tags", "\\set offset (random(1, 10) - 1) * 100\n", tags,
          {1: MANY_SQL, 2: "100", 3: ":offset", **constants(tags, 3)})
