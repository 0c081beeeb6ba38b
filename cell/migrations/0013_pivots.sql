-- Pivots (issue #12, docs/pivot.md "State machine"): the move of a cluster's Cluster API objects
-- from its managing cluster (source) to the cluster itself (target), run by the cell as a state
-- machine. One row per pivot; the row is the machine's whole state, so a restarted cell resumes
-- from it. Object contents (Secrets!) are never stored: the plan holds object keys, API versions
-- and source UIDs only, and the UID map source UID -> target UID.
CREATE TABLE pivots (
    id                UUID PRIMARY KEY,
    cluster           TEXT NOT NULL REFERENCES clusters(name) ON DELETE CASCADE,
    source            TEXT NOT NULL REFERENCES clusters(name) ON DELETE CASCADE,
    target            TEXT NOT NULL REFERENCES clusters(name) ON DELETE CASCADE,
    capi_namespace    TEXT NOT NULL,
    capi_name         TEXT NOT NULL,
    phase             TEXT NOT NULL CHECK (phase IN ('pausing', 'discovering', 'creating',
                          'unpausing', 'deleting', 'rolling_back', 'pivoted', 'failed')),
    -- The next batch of the phase (creating, deleting, rolling_back) and how many it has.
    batch_index       INTEGER NOT NULL DEFAULT 0 CHECK (batch_index >= 0),
    batch_count       INTEGER NOT NULL DEFAULT 0 CHECK (batch_count >= 0),
    -- Creation batches: [[{apiVersion, group, kind, namespace, name, uid}]] (NULL before discovery).
    plan              JSONB,
    uid_map           JSONB NOT NULL DEFAULT '{}'::jsonb,
    -- Why the pivot failed (rolling_back, failed), or the last error of a step being retried.
    error             TEXT,
    created_at        TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at        TIMESTAMPTZ NOT NULL DEFAULT now(),
    finished_at       TIMESTAMPTZ,
    CHECK ((phase IN ('pivoted', 'failed')) = (finished_at IS NOT NULL))
);
-- At most one active pivot per cluster.
CREATE UNIQUE INDEX pivots_one_active_per_cluster ON pivots (cluster) WHERE finished_at IS NULL;
CREATE INDEX pivots_by_cluster ON pivots (cluster, created_at DESC);

-- What happened, step by step: each step's result with the decision it led to. Bounded: the
-- latest 200 events of each pivot are kept.
CREATE TABLE pivot_events (
    id        BIGSERIAL PRIMARY KEY,
    pivot_id  UUID NOT NULL REFERENCES pivots(id) ON DELETE CASCADE,
    at        TIMESTAMPTZ NOT NULL DEFAULT now(),
    phase     TEXT NOT NULL,
    -- e.g. "pause source", "create batch 2/5", "started".
    step      TEXT NOT NULL,
    success   BOOLEAN NOT NULL,
    -- A one-line summary (counts, the phase decided next); never object contents.
    message   TEXT NOT NULL DEFAULT ''
);
CREATE INDEX pivot_events_by_pivot ON pivot_events (pivot_id, id DESC);
