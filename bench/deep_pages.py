"""The deep-page scenarios of `make bench` (issue 10): an organization holding 100,000 namespaces,
all in fr-par, listed 100 at a time; the latency of page 1,000 against page 1's.

Each scenario is wrk with one connection (a latency loop: one request at a time, so p50 is the
time of one listing, not a queue behind the listing lane), fixed page, for `created_at_asc` and
`name_asc`:

  deep_<order>_page1       ?page=1
  deep_<order>_page1000    ?page=1000 (OFFSET 99,900)
  deep_<order>_token1000   ?page_token=<the X-Next-Page-Token that page 999 answered>: the keyset
                           continuation to the same page 1,000

Plus `deep_count`: pgbench running the listing's `count(*)` alone (the `total_count` every page
pays), against page 1's own statement (`pg_deep_page1`), to say how much of page 1 is the count.
"""

import os
import re
import urllib.request

DEEP = 100_000
ORDERS = ["created_at_asc", "name_asc"]


def organization() -> str:
    return "00000000-0000-4000-8000-000000000100"  # beside bench.org(0..99)


def seed(psql, url: str):
    """100,000 namespaces of one organization in fr-par; ids md5('deep' || i), names deep-<i>."""
    owner = f"'{organization()}'::uuid"
    psql(url, f"""
        SET session_replication_role = replica;
        INSERT INTO namespaces (id, region, name, description, organization_id, project_id, created_at, updated_at)
        SELECT md5('deep' || i)::uuid, 'fr-par', 'deep-' || i, 'd' || (i % 1000), {owner}, {owner},
               now() - ({DEEP} - i) * interval '1 millisecond', now() - ({DEEP} - i) * interval '1 millisecond'
          FROM generate_series(1, {DEEP}) AS i;
        INSERT INTO organization_usage (organization_id, namespace_count) VALUES ({owner}, {DEEP})
        ON CONFLICT (organization_id) DO UPDATE SET namespace_count = EXCLUDED.namespace_count""")


def path(order: str, query: str) -> str:
    return f"/registry/v1/regions/fr-par/namespaces?order_by={order}&page_size=100&{query}"


def next_token(base: str, token: str, order: str, page: int):
    """The X-Next-Page-Token of page `page` (None when the server gives none)."""
    request = urllib.request.Request(base + path(order, f"page={page}"), headers={"X-Auth-Token": token})
    with urllib.request.urlopen(request, timeout=60) as response:
        return response.headers.get("X-Next-Page-Token")


def write_lua(directory: str, common: str, base: str, token: str) -> dict:
    paths = {}
    for order in ORDERS:
        queries = {"page1": "page=1", "page1000": "page=1000"}
        continuation = next_token(base, token, order, 999)
        if continuation:
            queries["token1000"] = "page_token=" + continuation
        for label, query in queries.items():
            name = f"deep_{order}_{label}"
            paths[name] = os.path.join(directory, f"{name}.lua")
            with open(paths[name], "w") as file:
                file.write(common + f"""
request = function()
  return wrk.format("GET", "{path(order, query)}", {{["X-Auth-Token"] = "{token}"}})
end
""")
    return paths


def pgbench_scripts(statement, write):
    """Page 1 of `created_at_asc` as the service ran it, and its count(*) alone."""
    org = f"'{organization()}'::uuid"
    listing = statement(["SELECT total.count", "ORDER BY namespaces.created_at ASC"])
    write("deep_page1", "", listing, {1: org, 2: "'fr-par'", 3: "100", 4: "0", 5: "true"})
    write("deep_count", "", f"SELECT count(*) FROM namespaces WHERE organization_id = $1 AND region = $2",
          {1: org, 2: "'fr-par'"})


def scenarios(wrk_one, pgbench_one, lua: dict, sql: dict) -> list:
    """(name, run) pairs: wrk_one(script, target) runs one connection against a service (the
    default one when None); pgbench_one(script) one client."""
    result = []
    for name in sorted(name for name in lua if name.startswith("deep_")):
        result.append((name, lambda target=None, script=lua[name]: wrk_one(script, target)))
    for name in ["deep_page1", "deep_count"]:
        result.append((f"pg_{name}", lambda script=sql[name]: pgbench_one(script)))
    return result


def ratios(m: dict) -> dict:
    """Page 1,000 (OFFSET and continuation) over page 1, p50; the count's share of page 1."""
    out = {}

    def p50(name):
        return m[name]["p50_ms"] if name in m else float("nan")

    for order in ORDERS:
        out[f"deep_{order}_page1000_vs_page1_latency"] = p50(f"deep_{order}_page1000") / p50(f"deep_{order}_page1")
        out[f"deep_{order}_token1000_vs_page1_latency"] = p50(f"deep_{order}_token1000") / p50(f"deep_{order}_page1")
    out["deep_count_share_of_page1_sql"] = p50("pg_deep_count") / p50("pg_deep_page1")
    return out


TARGETS = {f"deep_{order}_{way}1000_vs_page1_latency": ("<=", 3.0) for order in ORDERS for way in ["page", "token"]}
