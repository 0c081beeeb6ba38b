-- The deliveries of one spec, by cluster (`Store::deliveries_of`), and never a trap for the
-- statements that name one delivery by (cluster, spec_key) (decision 0057).
--
-- `deliveries_by_spec` (0012) indexed `spec_key` alone. A generic plan of a statement joining on
-- (cluster, spec_key) — the batch writer's `UPDATE deliveries … FROM UNNEST(…)`, estimated at 10
-- rows whatever the array holds — chose it over the primary key whenever the statistics said
-- `spec_key` was nearly unique (as after a set-up with one service per cluster), the smaller
-- index costing less for "one row". A `LatticeFleetPolicy` then adds one key shared by every
-- cluster: each probe read all 10,000 deliveries of that key and filtered on the cluster —
-- 1.0–1.7 s for 1,024 results in the 10,000-agent run, measured with auto_explain
-- (`docs/performance.md`). With the cluster in the index, whichever index the planner picks
-- finds the one row; `deliveries_of` also reads it in cluster order.
CREATE INDEX deliveries_by_spec_and_cluster ON deliveries (spec_key, cluster);
DROP INDEX deliveries_by_spec;
