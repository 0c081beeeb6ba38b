-- Cluster inventories reported by agents for compliance (issue #13, decision 0051): the objects
-- of the kinds the profiles ask about, as each agent last reported them (a snapshot replaces a
-- cluster's rows; changes upsert and delete single rows). Never a Secret value: the agent drops
-- Secret `data`/`stringData`/last-applied annotation and the cell drops them again before
-- storing. A cluster with a row in cluster_inventories is evaluated on its inventory (evidence
-- source `cluster-inventory`) instead of on its delivered revisions.
CREATE TABLE cluster_inventories (
    cluster     TEXT PRIMARY KEY REFERENCES clusters(name) ON DELETE CASCADE,
    -- When the latest snapshot arrived, and the latest report of any kind.
    snapshot_at TIMESTAMPTZ NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL
);

CREATE TABLE cluster_inventory_objects (
    cluster    TEXT NOT NULL REFERENCES cluster_inventories(cluster) ON DELETE CASCADE,
    -- `apiVersion/Kind/namespace/name` (namespace empty when cluster-scoped).
    object_key TEXT NOT NULL,
    object     JSONB NOT NULL,
    PRIMARY KEY (cluster, object_key)
);
