-- Unpivot (issue #12 deliverable 5; decision 0045, docs/pivot.md "Unpivot"): the same state
-- machine moves a pivoted cluster's Cluster API objects back to its managing cluster. The row's
-- `source` is then the cluster itself and `target` its manager (`spec.managedBy`). A finished
-- unpivot is stored with phase 'pivoted' ("the move is done"); the API shows it as `Unpivoted`.
-- One active move per cluster still holds (pivots_one_active_per_cluster covers both directions).
ALTER TABLE pivots
    ADD COLUMN direction TEXT NOT NULL DEFAULT 'pivot'
        CHECK (direction IN ('pivot', 'unpivot'));
