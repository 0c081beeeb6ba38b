//! The batched statements of deliveries (table `deliveries`, see `store::deliveries`).

use std::collections::HashSet;

use sqlx::PgPool;

use super::BatchedWrite;

/// Records a run of sends with one statement; every one is recorded.
pub(super) async fn store_sent(
    pool: &PgPool,
    batch: &[BatchedWrite],
) -> Result<Vec<bool>, sqlx::Error> {
    let mut clusters = Vec::with_capacity(batch.len());
    let mut keys = Vec::with_capacity(batch.len());
    let mut actions = Vec::with_capacity(batch.len());
    let mut revisions = Vec::with_capacity(batch.len());
    let mut ids = Vec::with_capacity(batch.len());
    for write in batch {
        if let BatchedWrite::Sent {
            cluster,
            spec_key,
            action,
            revision,
            command_id,
        } = write
        {
            clusters.push(cluster.as_str());
            keys.push(spec_key.as_str());
            actions.push(*action);
            revisions.push(revision.as_deref());
            ids.push(command_id.as_str());
        }
    }
    sqlx::query(
        "INSERT INTO deliveries (cluster, spec_key, sent_action, sent_revision, command_id) \
         SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::text[]) \
         ON CONFLICT (cluster, spec_key) DO UPDATE SET \
         sent_action = EXCLUDED.sent_action, sent_revision = EXCLUDED.sent_revision, \
         command_id = EXCLUDED.command_id, sent_at = now()",
    )
    .bind(&clusters)
    .bind(&keys)
    .bind(&actions)
    .bind(&revisions)
    .bind(&ids)
    .execute(pool)
    .await?;
    Ok(vec![true; batch.len()])
}

/// Records a run of `ApplyResult`s with one statement; returns per result whether it answered
/// the latest `Apply` (same revision) and was recorded.
pub(super) async fn store_apply_results(
    pool: &PgPool,
    batch: &[BatchedWrite],
) -> Result<Vec<bool>, sqlx::Error> {
    let mut clusters = Vec::with_capacity(batch.len());
    let mut keys = Vec::with_capacity(batch.len());
    let mut revisions = Vec::with_capacity(batch.len());
    let mut successes = Vec::with_capacity(batch.len());
    let mut objects = Vec::with_capacity(batch.len());
    let mut errors = Vec::with_capacity(batch.len());
    for write in batch {
        if let BatchedWrite::ApplyResult {
            cluster,
            spec_key,
            revision,
            success,
            objects: objs,
            error,
        } = write
        {
            clusters.push(cluster.as_str());
            keys.push(spec_key.as_str());
            revisions.push(revision.as_deref());
            successes.push(*success);
            objects.push(objs);
            errors.push(error.as_deref());
        }
    }
    // A replay of the recorded result changes nothing, not even the acknowledgement time.
    let recorded: Vec<(String, String)> = sqlx::query_as(
        "UPDATE deliveries d SET result_revision = r.revision, success = r.success, \
         objects = r.objects, error = r.error, \
         acked_at = CASE WHEN d.result_revision IS NOT DISTINCT FROM r.revision \
             AND d.success IS NOT DISTINCT FROM r.success AND d.objects = r.objects \
             AND d.error IS NOT DISTINCT FROM r.error AND d.acked_at IS NOT NULL \
             THEN d.acked_at ELSE now() END \
         FROM UNNEST($1::text[], $2::text[], $3::text[], $4::bool[], $5::jsonb[], $6::text[]) \
             AS r(cluster, spec_key, revision, success, objects, error) \
         WHERE d.cluster = r.cluster AND d.spec_key = r.spec_key \
         AND d.sent_action = 'apply' AND d.sent_revision = r.revision \
         RETURNING d.cluster, d.spec_key",
    )
    .bind(&clusters)
    .bind(&keys)
    .bind(&revisions)
    .bind(&successes)
    .bind(&objects)
    .bind(&errors)
    .fetch_all(pool)
    .await?;
    let recorded: HashSet<(&str, &str)> = recorded
        .iter()
        .map(|(c, k)| (c.as_str(), k.as_str()))
        .collect();
    Ok(batch.iter().map(|w| recorded.contains(&w.row())).collect())
}
