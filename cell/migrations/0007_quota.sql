-- Quota (issue 7): namespaces declared to the cell, LatticeQuotas, the reservation ledger that
-- admission reads and writes under row locks on the quotas, and the cost rates.
-- Numbered after the issue so that migrations added in parallel by other work do not collide.

-- The cell does not see the namespaces of workload clusters, so platform engineers declare the
-- ones whose labels matter (lattice.dev/group makes a namespace part of a team).
CREATE TABLE namespaces (
    name        TEXT PRIMARY KEY,
    labels      JSONB NOT NULL DEFAULT '{}'::jsonb,
    annotations JSONB NOT NULL DEFAULT '{}'::jsonb,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX namespaces_by_group ON namespaces ((labels->>'lattice.dev/group'));

-- LatticeQuotas (cluster-scoped). The principal is kept in two columns so that admission can
-- find and lock the quotas covering a workload with one indexed query.
CREATE TABLE quotas (
    id             BIGSERIAL PRIMARY KEY,
    name           TEXT NOT NULL UNIQUE,
    generation     BIGINT NOT NULL CHECK (generation >= 1),
    document       JSONB NOT NULL,
    principal_kind TEXT NOT NULL CHECK (principal_kind IN ('Service', 'Group', 'User')),
    principal_id   TEXT NOT NULL,
    enabled        BOOLEAN NOT NULL,
    created_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at     TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX quotas_by_principal ON quotas (principal_kind, principal_id);

-- The ledger: what each admitted workload holds (its admitted revision's total requests and
-- estimated cost). One row per workload: a re-derived workload replaces its own row, so it is
-- never counted twice; deleting the workload deletes the row. Written only by admission, inside
-- the transaction that holds the locks of every quota covering the workload.
CREATE TABLE quota_reservations (
    spec_id           BIGINT PRIMARY KEY REFERENCES specs(id) ON DELETE CASCADE,
    namespace         TEXT NOT NULL,
    name              TEXT NOT NULL,
    owner             TEXT,
    cluster           TEXT NOT NULL,
    revision          TEXT NOT NULL,
    replicas          BIGINT NOT NULL CHECK (replicas >= 0),
    cpu_millicores    BIGINT NOT NULL CHECK (cpu_millicores >= 0),
    memory_bytes      BIGINT NOT NULL CHECK (memory_bytes >= 0),
    gpus              BIGINT NOT NULL CHECK (gpus >= 0),
    gpu_model         TEXT,
    -- NULL when the cost could not be estimated (a GPU model without a rate).
    cost_microdollars BIGINT CHECK (cost_microdollars >= 0),
    reserved_at       TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX quota_reservations_by_namespace ON quota_reservations (namespace);
CREATE INDEX quota_reservations_by_owner ON quota_reservations (owner);

-- Cost rates (one row; absent = the documented defaults).
CREATE TABLE cost_rates (
    id         SMALLINT PRIMARY KEY CHECK (id = 1),
    rates      JSONB NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
