-- The cell's store for the walking skeleton: clusters and their enrolment, the CA and the
-- certificates it issued, specs with their immutable revisions, what agents acknowledged, and an
-- audit trail.

CREATE TABLE clusters (
    name               TEXT PRIMARY KEY,
    labels             JSONB NOT NULL DEFAULT '{}'::jsonb,
    created_at         TIMESTAMPTZ NOT NULL DEFAULT now(),
    enrolled_at        TIMESTAMPTZ,
    -- Facts reported by the agent on its last Hello / Heartbeat. Whether it is connected right now
    -- is known only to the cell process holding the stream (see the connection registry).
    last_connected_at  TIMESTAMPTZ,
    last_heartbeat_at  TIMESTAMPTZ,
    agent_version      TEXT,
    protocol_version   INTEGER,
    kubernetes_version TEXT
);

-- One-time enrolment tokens. Only the SHA-256 of the token is stored.
CREATE TABLE enrolment_tokens (
    id          UUID PRIMARY KEY,
    cluster     TEXT NOT NULL REFERENCES clusters(name) ON DELETE CASCADE,
    token_hash  BYTEA NOT NULL UNIQUE CHECK (octet_length(token_hash) = 32),
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    expires_at  TIMESTAMPTZ NOT NULL,
    consumed_at TIMESTAMPTZ
);

-- The cell CA: one row. The private key is stored only encrypted (AES-256-GCM).
CREATE TABLE ca (
    id             SMALLINT PRIMARY KEY CHECK (id = 1),
    cert_pem       TEXT NOT NULL,
    key_nonce      BYTEA NOT NULL CHECK (octet_length(key_nonce) = 12),
    key_ciphertext BYTEA NOT NULL,
    created_at     TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- Every certificate the CA issued, by serial (lowercase hex).
CREATE TABLE certificates (
    serial     TEXT PRIMARY KEY,
    purpose    TEXT NOT NULL CHECK (purpose IN ('agent', 'server')),
    cluster    TEXT REFERENCES clusters(name) ON DELETE CASCADE,
    subject    TEXT NOT NULL,
    issued_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    not_after  TIMESTAMPTZ NOT NULL,
    revoked_at TIMESTAMPTZ,
    CHECK ((purpose = 'agent') = (cluster IS NOT NULL))
);

-- Specs as applied, one row per (kind, namespace, name). `generation` bumps only when the spec or
-- its placement changes. A deleted spec stays (deleted_at set) until its cluster confirms removal.
CREATE TABLE specs (
    id               BIGSERIAL PRIMARY KEY,
    kind             TEXT NOT NULL,
    namespace        TEXT NOT NULL,
    name             TEXT NOT NULL,
    cluster          TEXT NOT NULL REFERENCES clusters(name),
    generation       BIGINT NOT NULL CHECK (generation >= 1),
    document         JSONB NOT NULL,
    status           JSONB NOT NULL DEFAULT '{}'::jsonb,
    current_revision TEXT,
    created_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    deleted_at       TIMESTAMPTZ,
    UNIQUE (kind, namespace, name)
);
CREATE INDEX specs_by_cluster ON specs (cluster);

-- Compiled manifest sets. The id is the SHA-256 of the content, so the same id always means the
-- same manifests; rows are never updated (enforced by a trigger).
CREATE TABLE revisions (
    id         TEXT PRIMARY KEY,
    spec_id    BIGINT NOT NULL REFERENCES specs(id) ON DELETE CASCADE,
    generation BIGINT NOT NULL,
    cluster    TEXT NOT NULL,
    layers     JSONB NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX revisions_by_spec ON revisions (spec_id);
ALTER TABLE specs ADD CONSTRAINT specs_current_revision_fk
    FOREIGN KEY (current_revision) REFERENCES revisions(id) DEFERRABLE INITIALLY DEFERRED;

CREATE FUNCTION revisions_are_immutable() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'revision % is immutable', OLD.id USING ERRCODE = 'integrity_constraint_violation';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER revisions_no_update BEFORE UPDATE ON revisions
    FOR EACH ROW EXECUTE FUNCTION revisions_are_immutable();

-- What each cluster's agent was sent and acknowledged, per spec.
CREATE TABLE deliveries (
    cluster         TEXT NOT NULL REFERENCES clusters(name) ON DELETE CASCADE,
    spec_key        TEXT NOT NULL,
    -- Last command sent: 'apply' (with sent_revision) or 'remove'.
    sent_action     TEXT NOT NULL CHECK (sent_action IN ('apply', 'remove')),
    sent_revision   TEXT,
    command_id      TEXT NOT NULL,
    sent_at         TIMESTAMPTZ NOT NULL DEFAULT now(),
    -- Result of the last acknowledged command.
    result_revision TEXT,
    success         BOOLEAN,
    objects         JSONB NOT NULL DEFAULT '[]'::jsonb,
    error           TEXT,
    acked_at        TIMESTAMPTZ,
    PRIMARY KEY (cluster, spec_key)
);

CREATE TABLE audit_log (
    id      BIGSERIAL PRIMARY KEY,
    at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    actor   TEXT NOT NULL,
    action  TEXT NOT NULL,
    target  TEXT NOT NULL,
    details JSONB NOT NULL DEFAULT '{}'::jsonb
);
