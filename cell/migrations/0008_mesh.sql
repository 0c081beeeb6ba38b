-- The bilateral mesh. Each spec's row keeps the mesh side of its released revision, so the cell
-- can build the mesh graph of the trust domain from stored state alone:
--   mesh         the MeshMembership (identity, ports, declared callers and dependencies, external
--                endpoints) of the released revision; NULL for specs that are not mesh members
--                (the per-cluster MeshBaseline) and until a revision is released;
--   mesh_digest  the content hash of the mesh objects in that revision (a member's policies, or a
--                MeshBaseline's shared objects). A spec needs re-deriving for the mesh exactly when
--                the graph now gives it objects with another digest.
--   mesh_peers   the members it declares, inbound or outbound, as 'namespace/name': with the
--                members that declare it, the only members its mesh objects depend on, so a
--                reconcile loads just these (GIN index) instead of the whole graph.
ALTER TABLE specs
    ADD COLUMN mesh        JSONB,
    ADD COLUMN mesh_digest TEXT,
    ADD COLUMN mesh_peers  TEXT[] NOT NULL DEFAULT '{}';
CREATE INDEX specs_mesh_peers ON specs USING GIN (mesh_peers) WHERE deleted_at IS NULL;
CREATE INDEX specs_mesh_by_name ON specs (namespace, name) WHERE deleted_at IS NULL AND mesh IS NOT NULL;

-- Follow-up reconciles owed: a change of another spec's mesh membership (or its deletion) alters
-- this spec's mesh objects. Written in the transaction that made the change (which holds the
-- mesh lock), so a crash before the follow-up runs leaves it for the start-up sweep. A table of
-- its own rather than a column on specs: marking must not take the row locks of the specs it
-- marks (they may be held by reconciles waiting for the mesh lock). `mark` grows with every
-- marking; a reconcile clears only the marks it saw when it loaded its inputs.
CREATE SEQUENCE mesh_followup_marks;
CREATE TABLE mesh_followups (
    kind      TEXT NOT NULL,
    namespace TEXT NOT NULL,
    name      TEXT NOT NULL,
    mark      BIGINT NOT NULL,
    PRIMARY KEY (kind, namespace, name)
);
