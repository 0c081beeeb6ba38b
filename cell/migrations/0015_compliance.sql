-- Continuous compliance in the cell (issue #13, decision 0047). Profiles are cluster-scoped
-- documents served like quotas (not placed on a cluster, nothing derived). Results are evidence
-- with history: one row is a run of identical results for one (profile, control, probe, cluster,
-- object), from first_seen to last_seen; an identical result extends last_seen instead of adding
-- a row. Rows whose last_seen is older than --compliance-retention are pruned. No column holds
-- Secret data: observed values come from inventories with Secret values dropped (derive-core).
CREATE TABLE compliance_profiles (
    name              TEXT PRIMARY KEY,
    generation        BIGINT NOT NULL CHECK (generation >= 1),
    document          JSONB NOT NULL,
    created_at        TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at        TIMESTAMPTZ NOT NULL DEFAULT now(),
    -- When it was last evaluated, on change or on its interval (NULL: never; due at once).
    last_evaluated_at TIMESTAMPTZ
);

-- The time of the latest evaluation of each profile on each cluster: the current results of a
-- (profile, cluster) are its rows whose last_seen equals it (an object that disappeared keeps its
-- old rows as history, but they are no longer current).
CREATE TABLE compliance_evaluations (
    profile      TEXT NOT NULL,
    cluster      TEXT NOT NULL REFERENCES clusters(name) ON DELETE CASCADE,
    evaluated_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (profile, cluster)
);

CREATE TABLE compliance_results (
    id              BIGSERIAL PRIMARY KEY,
    profile         TEXT NOT NULL,
    profile_version BIGINT NOT NULL,
    control         TEXT NOT NULL,
    severity        TEXT NOT NULL,
    probe           TEXT NOT NULL,
    cluster         TEXT NOT NULL REFERENCES clusters(name) ON DELETE CASCADE,
    -- `apiVersion/Kind/namespace/name` of the judged object; '' for a cluster-wide probe.
    object_key      TEXT NOT NULL,
    object          JSONB,
    observed        TEXT,
    expected        TEXT NOT NULL,
    result          TEXT NOT NULL CHECK (result IN ('pass', 'fail', 'error', 'skip')),
    message         TEXT NOT NULL,
    -- Where the facts came from: `policy-set` (cedar), `delivered-revisions` (what the cell
    -- delivered and the agent acknowledged, not the live cluster).
    source          TEXT NOT NULL,
    first_seen      TIMESTAMPTZ NOT NULL,
    last_seen       TIMESTAMPTZ NOT NULL,
    CHECK (last_seen >= first_seen)
);
CREATE INDEX compliance_results_by_key
    ON compliance_results (profile, cluster, control, probe, object_key, last_seen DESC);
CREATE INDEX compliance_results_by_last_seen ON compliance_results (last_seen);
