-- Cluster health: the latest heartbeat of each cluster's agent, one row per cluster, replaced by
-- every heartbeat (history is not kept: the row is the cluster's current health). Resource
-- columns keep their last known values when a heartbeat comes without them (the agent could not
-- read its Kubernetes API); resources_at says when they were read.
CREATE TABLE cluster_health (
    cluster                 TEXT PRIMARY KEY REFERENCES clusters(name) ON DELETE CASCADE,
    reported_at             TIMESTAMPTZ NOT NULL DEFAULT now(),
    sequence                BIGINT NOT NULL,
    uptime_seconds          BIGINT NOT NULL,
    state                   TEXT NOT NULL,
    managed_objects         BIGINT NOT NULL,
    failed_applies          BIGINT NOT NULL,
    resources_at            TIMESTAMPTZ,
    node_count              BIGINT,
    allocatable_cpu_milli   BIGINT,
    allocatable_memory      BIGINT,
    allocatable_gpus        BIGINT,
    requested_cpu_milli     BIGINT,
    requested_memory        BIGINT,
    requested_gpus          BIGINT
);
