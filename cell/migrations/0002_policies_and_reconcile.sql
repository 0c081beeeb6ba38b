-- Cedar policies, the versioned policy set, and what the derivation loop records per spec.

-- CedarPolicy objects, one row per document. `status` holds what the cell computed at the last
-- change of the policy set: policy ids, permit/forbid counts, semantic-analysis findings.
CREATE TABLE cedar_policies (
    name        TEXT PRIMARY KEY,
    description TEXT,
    policies    TEXT NOT NULL,
    priority    INTEGER NOT NULL DEFAULT 0,
    enabled     BOOLEAN NOT NULL DEFAULT true,
    propagate   BOOLEAN NOT NULL DEFAULT false,
    generation  BIGINT NOT NULL CHECK (generation >= 1),
    status      JSONB NOT NULL DEFAULT '{}'::jsonb,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- Every version of the policy set: one row per change of a CedarPolicy, with the documents it was
-- assembled from (so any version can be rebuilt to compare decisions) and its fingerprint.
-- Version 0 is the empty set and has no row. Rows are never updated.
CREATE TABLE policy_set_versions (
    version        BIGINT PRIMARY KEY CHECK (version >= 1),
    fingerprint    TEXT NOT NULL,
    documents      JSONB NOT NULL,
    change         JSONB NOT NULL,
    affected_gates JSONB NOT NULL DEFAULT '[]'::jsonb,
    created_at     TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE FUNCTION policy_set_versions_are_immutable() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'policy set version % is immutable', OLD.version USING ERRCODE = 'integrity_constraint_violation';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER policy_set_versions_no_update BEFORE UPDATE ON policy_set_versions
    FOR EACH ROW EXECUTE FUNCTION policy_set_versions_are_immutable();

-- The last reconcile attempt of each spec: which generation, under which policy set version, and
-- the Cedar questions it raised (a policy change re-derives a spec iff it touches one of their
-- gates). `status` (from 0001) holds the attempt's result and conditions.
-- `released_cluster` is the cluster the current revision was released for (revision ids are
-- content hashes and do not name a cluster): after a move that was not released, the new cluster
-- gets nothing.
ALTER TABLE specs
    ADD COLUMN released_cluster      TEXT,
    ADD COLUMN reconciled_generation BIGINT,
    ADD COLUMN policy_version        BIGINT NOT NULL DEFAULT 0,
    ADD COLUMN gate_questions        JSONB,
    ADD COLUMN reconciled_at         TIMESTAMPTZ;

UPDATE specs SET released_cluster = cluster WHERE current_revision IS NOT NULL;

-- Specs written before this migration have no reconciled_generation: the startup sweep
-- reconciles them under the live policy set (their released revision stays on the cluster if they
-- are now denied).
