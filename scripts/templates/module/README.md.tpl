# __NAME__

A replicated map of string entries with optional TTLs, scaffolded by
`npm run new-module -- __NAME__`. Every change made on one node is broadcast to the other
nodes of the cluster over BIN (capability `__CAP__`); a node that starts gets every entry
from a donor through the clusterer's sync. An entry's expiry is absolute and travels with
it, so each node drops it at the same time without a packet. An entry may belong to a
sharing tag: only the node where the tag is active may change it.

It is built on tsips's replication helper: `messages.ts` declares the record once
(`defineReplication`), and broadcasting, applying, donor and receiver sync, the version
check, statistics and ownership by sharing tag come from it (`ReplicatedMap`). Replace the
record with your own data: keep the shape — the record in `messages.ts`, the API type in
`api.ts`, the module in `index.ts` — and the tests in `__NAME__.test.ts`. The guide is
tsips's `docs/writing-modules.md`.

## Loading

```
loadmodule "clusterer.so"            # with my_node_info / neighbor_node_info, see the clusterer README
loadmodule "__LOADMODULE__"
modparam("__NAME__", "cluster_id", 1)
```

## Parameters

| name | type | default | meaning |
|---|---|---|---|
| `cluster_id` | int | 0 | clusterer cluster to replicate to; 0 = local only (no clusterer needed) |
| `startup_sync` | int | 1 | ask a donor for every entry at startup (1) or start empty and synced (0) |
| `max_entries` | int | 1000000 | entries held at most; a set beyond it is refused (MI 500) |
| `expire_interval` | int | 1 | seconds between two sweeps of expired entries |

## MI commands

| command | params | reply |
|---|---|---|
| `__NAME___set` | `key`, `value` [, `ttl` (s)] [, `sharing_tag`] | `"OK"`; 403 "Node is backup for this entry", 500 "Too many entries", 400 "Bad ttl" |
| `__NAME___get` | `key` | `{"key", "value", "sharing_tag", "expires_in"}` (`expires_in` null = never); 404 "Entry not found" |
| `__NAME___delete` | `key` | `"OK"`; 404, 403 as above |
| `__NAME___list` | — | `{"count": n, "Entries": [...]}` |

## Statistics (group `__NAME__`)

`keys` (gauge: entries held), `repl_sent`, `repl_received` (packets and sync chunks applied),
`repl_dropped` (bad version, malformed), `expired`, `local_changes`.

## Wire (capability `__CAP__`, version 1)

| type | message | fields |
|---|---|---|
| 1 | ENTRY_SET | str key, str value, str tag, int expires (unix s, 0 = never) |
| 2 | ENTRY_DELETE | str key |
| 101 | ENTRY_SYNC (sync chunk) | the ENTRY_SET fields, one entry per chunk |

## Tests

From the tsips checkout:

```sh
__TYPECHECK__
__RUN_TESTS__
```
