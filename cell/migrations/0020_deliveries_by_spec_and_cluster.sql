-- The deliveries of one spec, by cluster (`Store::deliveries_of`), and never a trap for the
-- statements that name one delivery by (cluster, spec_key) (decision 0057).
--
-- `deliveries_by_spec` (0012) indexed `spec_key` alone. The batch writer's result statement
-- (`UPDATE deliveries … FROM UNNEST(…)`) is a nested loop of index lookups whenever its batch
-- is small against the table (a custom plan at 10,000 clusters; every generic plan). With
-- statistics taken while every spec key was unique (one service and baseline per cluster),
-- "spec_key = x" looked like one row and the single-column index the cheaper lookup. A
-- `LatticeFleetPolicy` then gives every cluster's delivery one key: each lookup filtered
-- hundreds to thousands of them — 1.0–2.0 s per 1,024 results in the 10,000-agent run
-- (auto_explain, `docs/performance.md`). With the cluster in the index, whichever index the
-- planner takes finds the one row; `deliveries_of` also reads it in cluster order.
CREATE INDEX deliveries_by_spec_and_cluster ON deliveries (spec_key, cluster);
DROP INDEX deliveries_by_spec;
