-- Fleet-wide policies (decision 0048): a LatticeFleetPolicy names no cluster; its one revision is
-- delivered to every cluster by the sessions. The revision is stored with the policy (immutable
-- content, id = content hash like `revisions`, but owned by no spec row, so not in `revisions`).
-- Deliveries are recorded in `deliveries` like any spec's, under the key LatticeFleetPolicy/-/<name>.
CREATE TABLE fleet_policies (
    name       TEXT PRIMARY KEY,
    generation BIGINT NOT NULL CHECK (generation >= 1),
    document   JSONB NOT NULL,
    revision   TEXT NOT NULL,
    layers     JSONB NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- The version of the whole set: every transaction that changes a fleet policy bumps it (its row
-- lock serializes those transactions), so the set read inside one is exactly the set of that
-- version, and sessions never go back to an older set.
CREATE TABLE fleet_policy_set (
    only_row BOOLEAN PRIMARY KEY DEFAULT true CHECK (only_row),
    version  BIGINT NOT NULL
);
INSERT INTO fleet_policy_set (only_row, version) VALUES (true, 0);
