//! Recording one evaluation of a profile on a cluster as runs of identical results (decision
//! 0047, amended: batched writes). A result identical to the latest row of its key (profile,
//! cluster, control, probe, object) extends that row's `last_seen`; any other adds a row. Which
//! is which is decided by [`plan_runs`], a pure function over the latest rows read in one
//! statement; the extensions are then one `UPDATE` and the new rows one `INSERT … UNNEST`, so a
//! (profile, cluster) costs a handful of statements whatever its result count.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use super::compliance::{Recorded, SourcedResult, object_key};
use super::{Store, StoreError};

/// The evidence of a result that must be the same for it to extend a run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunEvidence {
    /// Profile generation.
    pub profile_version: i64,
    /// Control severity.
    pub severity: String,
    /// What was observed.
    pub observed: Option<String>,
    /// What passes.
    pub expected: String,
    /// `pass`, `fail`, `error` or `skip`.
    pub result: String,
    /// One line for people.
    pub message: String,
    /// Where the facts came from.
    pub source: String,
}

/// The latest stored row of a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LatestRun {
    /// Row id.
    pub id: i64,
    /// Its evidence.
    pub evidence: RunEvidence,
    /// Its latest evaluation.
    pub last_seen: DateTime<Utc>,
}

/// What to do with one result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunWrite {
    /// Extend the stored row with this id to the evaluation's time.
    Extend(i64),
    /// Identical to a row this same evaluation adds (a key judged twice): extends it, nothing to
    /// write since it is at the evaluation's time already.
    ExtendAdded,
    /// Add a row.
    Add,
}

/// Decides, for each result `(key, evidence)` in order, whether it extends a run or adds a row at
/// `at`, given the latest stored row of each key: the same decisions as judging the results one
/// by one against the table (a result extends the latest row of its key when every piece of
/// evidence is the same and that row is not later than `at`; a row added earlier in the same
/// evaluation is the latest of its key from then on).
pub fn plan_runs<K: std::hash::Hash + Eq>(
    results: &[(K, RunEvidence)],
    latest: &HashMap<K, LatestRun>,
    at: DateTime<Utc>,
) -> Vec<RunWrite> {
    // The latest row of each key judged so far in this evaluation: stored (by id) or added.
    let mut seen: HashMap<&K, (Option<i64>, &RunEvidence, DateTime<Utc>)> = HashMap::new();
    results
        .iter()
        .map(|(key, evidence)| {
            let current = seen.get(key).copied().or_else(|| {
                latest
                    .get(key)
                    .map(|l| (Some(l.id), &l.evidence, l.last_seen))
            });
            match current {
                Some((id, stored, last_seen)) if stored == evidence && last_seen <= at => {
                    seen.insert(key, (id, stored, at));
                    id.map_or(RunWrite::ExtendAdded, RunWrite::Extend)
                }
                Some(kept) if kept.2 > at => {
                    // The stored row stays the latest of its key (ordered by `last_seen`).
                    seen.insert(key, kept);
                    RunWrite::Add
                }
                _ => {
                    seen.insert(key, (None, evidence, at));
                    RunWrite::Add
                }
            }
        })
        .collect()
}

/// A result's key within a (profile, cluster): control, probe, object key.
type RunKey = (String, String, String);

impl Store {
    /// Records the results of one evaluation of `profile` on `cluster` at `at`, in one
    /// transaction: each result identical to the latest row of its key extends that row, any
    /// other adds one ([`plan_runs`]); then `at` becomes the (profile, cluster)'s latest
    /// evaluation unless a later one is recorded already (passes may finish out of order).
    pub async fn record_compliance(
        &self,
        profile: &str,
        cluster: &str,
        at: DateTime<Utc>,
        results: &[SourcedResult<'_>],
    ) -> Result<Recorded, StoreError> {
        let mut keys: Vec<RunKey> = Vec::with_capacity(results.len());
        let mut candidates: Vec<(RunKey, RunEvidence)> = Vec::with_capacity(results.len());
        let mut objects = Vec::with_capacity(results.len());
        for sourced in results {
            let r = sourced.result;
            let key = (r.control.clone(), r.probe.clone(), object_key(r));
            let evidence = RunEvidence {
                profile_version: r.profile_version,
                severity: serde_json::to_value(r.severity)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default(),
                observed: r.observed.clone(),
                expected: r.expected.clone(),
                result: r.result.as_str().to_string(),
                message: r.message.clone(),
                source: sourced.source.to_string(),
            };
            objects.push(
                r.object
                    .as_ref()
                    .map(serde_json::to_value)
                    .transpose()
                    .map_err(|source| StoreError::Malformed {
                        what: "compliance object reference",
                        source,
                    })?,
            );
            keys.push(key.clone());
            candidates.push((key, evidence));
        }
        let mut tx = self.pool.begin().await?;
        // Two passes (an apply's and the background task's) may record the same (profile,
        // cluster) at once: serialise them, so the second sees the first's rows and extends them
        // instead of adding duplicates.
        sqlx::query(
            "SELECT pg_advisory_xact_lock(hashtextextended('compliance/' || $1 || '/' || $2, 0))",
        )
        .bind(profile)
        .bind(cluster)
        .execute(&mut *tx)
        .await?;
        let latest = latest_runs(&mut tx, profile, cluster, &keys).await?;
        let plan = plan_runs(&candidates, &latest, at);
        let mut recorded = Recorded::default();
        let mut extend: Vec<i64> = Vec::new();
        let mut added: Vec<usize> = Vec::new();
        for (i, write) in plan.iter().enumerate() {
            match write {
                RunWrite::Extend(id) => {
                    recorded.extended += 1;
                    extend.push(*id);
                }
                RunWrite::ExtendAdded => recorded.extended += 1,
                RunWrite::Add => {
                    recorded.inserted += 1;
                    added.push(i);
                }
            }
        }
        if !extend.is_empty() {
            extend.sort_unstable();
            extend.dedup();
            sqlx::query(
                "UPDATE compliance_results SET last_seen = $2 WHERE id = ANY($1) AND last_seen <= $2",
            )
            .bind(&extend)
            .bind(at)
            .execute(&mut *tx)
            .await?;
        }
        if !added.is_empty() {
            insert_rows(&mut tx, profile, cluster, at, &candidates, &objects, &added).await?;
        }
        sqlx::query(
            "INSERT INTO compliance_evaluations (profile, cluster, evaluated_at) VALUES ($1, $2, $3) \
             ON CONFLICT (profile, cluster) DO UPDATE SET \
             evaluated_at = GREATEST(compliance_evaluations.evaluated_at, EXCLUDED.evaluated_at)",
        )
        .bind(profile)
        .bind(cluster)
        .bind(at)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(recorded)
    }
}

/// The latest row of each key of `keys`, in one statement; each is locked until the transaction
/// ends, so the retention pruning cannot delete a row between this read and its extension.
async fn latest_runs(
    tx: &mut sqlx::PgConnection,
    profile: &str,
    cluster: &str,
    keys: &[RunKey],
) -> Result<HashMap<RunKey, LatestRun>, StoreError> {
    if keys.is_empty() {
        return Ok(HashMap::new());
    }
    let controls: Vec<&str> = keys.iter().map(|k| k.0.as_str()).collect();
    let probes: Vec<&str> = keys.iter().map(|k| k.1.as_str()).collect();
    let objects: Vec<&str> = keys.iter().map(|k| k.2.as_str()).collect();
    type Row = (
        String,
        String,
        String,
        i64,
        DateTime<Utc>,
        i64,
        String,
        Option<String>,
        String,
        String,
        String,
        String,
    );
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT k.control, k.probe, k.object_key, r.id, r.last_seen, r.profile_version, \
         r.severity, r.observed, r.expected, r.result, r.message, r.source \
         FROM (SELECT DISTINCT * FROM UNNEST($3::text[], $4::text[], $5::text[]) \
               AS u(control, probe, object_key)) AS k \
         CROSS JOIN LATERAL ( \
           SELECT id, last_seen, profile_version, severity, observed, expected, result, message, source \
           FROM compliance_results WHERE profile = $1 AND cluster = $2 \
           AND control = k.control AND probe = k.probe AND object_key = k.object_key \
           ORDER BY last_seen DESC, id DESC LIMIT 1 FOR UPDATE) AS r",
    )
    .bind(profile)
    .bind(cluster)
    .bind(&controls)
    .bind(&probes)
    .bind(&objects)
    .fetch_all(&mut *tx)
    .await?;
    Ok(rows
        .into_iter()
        .map(
            |(
                control,
                probe,
                object_key,
                id,
                last_seen,
                profile_version,
                severity,
                observed,
                expected,
                result,
                message,
                source,
            )| {
                (
                    (control, probe, object_key),
                    LatestRun {
                        id,
                        last_seen,
                        evidence: RunEvidence {
                            profile_version,
                            severity,
                            observed,
                            expected,
                            result,
                            message,
                            source,
                        },
                    },
                )
            },
        )
        .collect())
}

/// Adds the rows of `candidates` at the indices `added`, in their order, in one statement.
async fn insert_rows(
    tx: &mut sqlx::PgConnection,
    profile: &str,
    cluster: &str,
    at: DateTime<Utc>,
    candidates: &[(RunKey, RunEvidence)],
    objects: &[Option<serde_json::Value>],
    added: &[usize],
) -> Result<(), StoreError> {
    let pick = |f: fn(&(RunKey, RunEvidence)) -> &str| -> Vec<&str> {
        added.iter().map(|&i| f(&candidates[i])).collect()
    };
    let controls = pick(|c| &c.0.0);
    let probes = pick(|c| &c.0.1);
    let keys = pick(|c| &c.0.2);
    let severities = pick(|c| &c.1.severity);
    let expected = pick(|c| &c.1.expected);
    let outcomes = pick(|c| &c.1.result);
    let messages = pick(|c| &c.1.message);
    let sources = pick(|c| &c.1.source);
    let versions: Vec<i64> = added
        .iter()
        .map(|&i| candidates[i].1.profile_version)
        .collect();
    let observed: Vec<Option<&str>> = added
        .iter()
        .map(|&i| candidates[i].1.observed.as_deref())
        .collect();
    let object_values: Vec<Option<&serde_json::Value>> =
        added.iter().map(|&i| objects[i].as_ref()).collect();
    sqlx::query(
        "INSERT INTO compliance_results (profile, profile_version, control, severity, probe, \
         cluster, object_key, object, observed, expected, result, message, source, \
         first_seen, last_seen) \
         SELECT $1, v, c, s, p, $2, k, o, obs, e, r, m, src, $3, $3 \
         FROM UNNEST($4::bigint[], $5::text[], $6::text[], $7::text[], $8::text[], $9::jsonb[], \
                     $10::text[], $11::text[], $12::text[], $13::text[], $14::text[]) \
              WITH ORDINALITY AS u(v, c, s, p, k, o, obs, e, r, m, src, n) \
         ORDER BY n",
    )
    .bind(profile)
    .bind(cluster)
    .bind(at)
    .bind(&versions)
    .bind(&controls)
    .bind(&severities)
    .bind(&probes)
    .bind(&keys)
    .bind(&object_values)
    .bind(&observed)
    .bind(&expected)
    .bind(&outcomes)
    .bind(&messages)
    .bind(&sources)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: i64) -> DateTime<Utc> {
        DateTime::<Utc>::from_timestamp(s, 0).unwrap()
    }

    fn evidence(result: &str) -> RunEvidence {
        RunEvidence {
            profile_version: 1,
            severity: "high".into(),
            observed: Some("x".into()),
            expected: "y".into(),
            result: result.into(),
            message: "m".into(),
            source: "cluster-inventory".into(),
        }
    }

    fn stored(id: i64, result: &str, last_seen: i64) -> LatestRun {
        LatestRun {
            id,
            evidence: evidence(result),
            last_seen: at(last_seen),
        }
    }

    #[test]
    fn an_identical_result_extends_the_latest_row_and_any_difference_adds_one() {
        let latest = HashMap::from([("a", stored(1, "pass", 10)), ("b", stored(2, "pass", 10))]);
        let mut changed = evidence("pass");
        changed.observed = None;
        let plan = plan_runs(
            &[
                ("a", evidence("pass")),
                ("b", changed),
                ("c", evidence("fail")),
            ],
            &latest,
            at(20),
        );
        assert_eq!(plan, [RunWrite::Extend(1), RunWrite::Add, RunWrite::Add]);
    }

    #[test]
    fn a_row_later_than_the_evaluation_is_not_extended() {
        let latest = HashMap::from([("a", stored(1, "pass", 30))]);
        assert_eq!(
            plan_runs(&[("a", evidence("pass"))], &latest, at(20)),
            [RunWrite::Add]
        );
        assert_eq!(
            plan_runs(&[("a", evidence("pass"))], &latest, at(30)),
            [RunWrite::Extend(1)]
        );
        // The later row stays the latest: a second identical result adds again.
        assert_eq!(
            plan_runs(
                &[("a", evidence("pass")), ("a", evidence("pass"))],
                &latest,
                at(20)
            ),
            [RunWrite::Add, RunWrite::Add]
        );
    }

    #[test]
    fn a_key_judged_twice_sees_the_row_its_first_result_wrote() {
        let latest = HashMap::from([("a", stored(1, "pass", 10))]);
        let plan = plan_runs(
            &[
                ("a", evidence("fail")),
                ("a", evidence("fail")),
                ("a", evidence("pass")),
                ("b", evidence("pass")),
                ("b", evidence("pass")),
            ],
            &latest,
            at(20),
        );
        assert_eq!(
            plan,
            [
                RunWrite::Add,
                RunWrite::ExtendAdded,
                RunWrite::Add,
                RunWrite::Add,
                RunWrite::ExtendAdded,
            ]
        );
        let plan = plan_runs(
            &[("a", evidence("pass")), ("a", evidence("pass"))],
            &latest,
            at(20),
        );
        assert_eq!(plan, [RunWrite::Extend(1), RunWrite::Extend(1)]);
    }
}
