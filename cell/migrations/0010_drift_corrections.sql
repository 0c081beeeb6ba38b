-- Drift corrections reported by agents (DriftCorrected): an object of a held revision that was
-- edited or deleted on its cluster and put back by the agent. History is bounded: the latest 20
-- events per spec and cluster are kept (older ones are deleted as new ones arrive), and the total
-- per spec and cluster is a counter that keeps counting (it also counts events the agent's
-- buffer dropped while its stream was down).
CREATE TABLE drift_correction_totals (
    spec_key  TEXT NOT NULL,
    cluster   TEXT NOT NULL REFERENCES clusters(name) ON DELETE CASCADE,
    total     BIGINT NOT NULL CHECK (total >= 0),
    last_at   TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (spec_key, cluster)
);

CREATE TABLE drift_corrections (
    id            BIGSERIAL PRIMARY KEY,
    spec_key      TEXT NOT NULL,
    cluster       TEXT NOT NULL REFERENCES clusters(name) ON DELETE CASCADE,
    revision_id   TEXT NOT NULL,
    api_version   TEXT NOT NULL,
    kind          TEXT NOT NULL,
    namespace     TEXT NOT NULL,
    name          TEXT NOT NULL,
    deleted       BOOLEAN NOT NULL,
    fields        TEXT[] NOT NULL,
    -- When the agent corrected the object (its clock), and when the cell stored the event.
    corrected_at  TIMESTAMPTZ NOT NULL,
    received_at   TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX drift_corrections_by_spec ON drift_corrections (spec_key, cluster, id DESC);
