-- The bilateral mesh. Each spec's row keeps the mesh side of its released revision, so the cell
-- can build the mesh graph of the trust domain from stored state alone:
--   mesh         the MeshMembership (identity, ports, declared callers and dependencies, external
--                endpoints) of the released revision; NULL for specs that are not mesh members
--                (the per-cluster MeshBaseline) and until a revision is released;
--   mesh_digest  the content hash of the mesh objects in that revision (a member's policies, or a
--                MeshBaseline's shared objects). A spec needs re-deriving for the mesh exactly when
--                the graph now gives it objects with another digest.
ALTER TABLE specs
    ADD COLUMN mesh        JSONB,
    ADD COLUMN mesh_digest TEXT;
