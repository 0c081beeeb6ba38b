//! `latticectl cluster pivot NAME` and `cluster unpivot NAME`: start a pivot (or the move back)
//! and follow it until it ends — a progress bar (indicatif) when stdout is a terminal, one plain
//! line per change otherwise (CI logs) — and fail (non-zero exit) when it does. `-o yaml|json`
//! prints the ended move instead. `latticectl describe cluster NAME` shows the history
//! ([`history`]), each move with its direction.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use lattice_api::pivots::{PivotList, PivotStarted, PivotView};
use reqwest::Method;
use serde_json::Value;

use crate::client::{ApiClient, CtlError};
use crate::output::{OutputFormat, structured};

/// How often the pivot's progress is read.
pub const POLL: Duration = Duration::from_millis(500);

/// Which move `run` starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Move {
    /// `POST /v1/clusters/{name}/pivot`.
    Pivot,
    /// `POST /v1/clusters/{name}/unpivot`.
    Unpivot,
}

impl Move {
    /// `pivot` or `unpivot`: the path segment and the word in messages.
    pub fn name(self) -> &'static str {
        match self {
            Move::Pivot => "pivot",
            Move::Unpivot => "unpivot",
        }
    }
}

/// Starts a pivot (or unpivot) of `name` and follows it, reading its progress every `poll`.
pub async fn run(
    client: &ApiClient,
    name: &str,
    what: Move,
    format: OutputFormat,
    poll: Duration,
) -> Result<String, CtlError> {
    let started = client
        .call(
            Method::POST,
            &format!("/v1/clusters/{name}/{}", what.name()),
            None,
        )
        .await?;
    let started: PivotStarted = decode(started)?;
    let mut progress = match format {
        OutputFormat::Table if std::io::stdout().is_terminal() => Progress::bar(&started),
        OutputFormat::Table => Progress::Lines(None),
        _ => Progress::Quiet,
    };
    progress.started(&started);
    let ended = loop {
        let answer = client
            .call(Method::GET, &format!("/v1/clusters/{name}/pivots"), None)
            .await?;
        let list: PivotList = decode(answer)?;
        if let Some(pivot) = list.items.into_iter().find(|p| p.id == started.id) {
            progress.show(&pivot);
            if pivot.is_finished() {
                break pivot;
            }
        }
        tokio::time::sleep(poll).await;
    };
    progress.finish();
    if !ended.succeeded() {
        return Err(CtlError::PivotFailed {
            move_name: what.name(),
            cluster: ended.cluster,
            id: ended.id,
            reason: ended
                .error
                .unwrap_or_else(|| "no reason recorded".to_string()),
        });
    }
    match format {
        OutputFormat::Table => Ok(format!(
            "cluster/{} {}ed: {} object(s) moved from {} to {} ({} {})",
            ended.cluster,
            what.name(),
            ended.objects_moved,
            ended.source,
            ended.target,
            what.name(),
            ended.id
        )),
        other => structured(
            &serde_json::to_value(&ended).map_err(|e| CtlError::Render(e.to_string()))?,
            other,
        ),
    }
}

fn decode<T: serde::de::DeserializeOwned>(value: Value) -> Result<T, CtlError> {
    serde_json::from_value(value)
        .map_err(|e| CtlError::Render(format!("unexpected answer from the cell: {e}")))
}

/// Where progress goes.
enum Progress {
    /// A progress bar over the objects moved.
    Bar(ProgressBar),
    /// One line per change (the last line printed).
    Lines(Option<String>),
    /// Nothing (structured output).
    Quiet,
}

impl Progress {
    fn bar(started: &PivotStarted) -> Self {
        let bar = ProgressBar::new(0);
        let style = ProgressStyle::with_template("{prefix} [{bar:30}] {pos}/{len} objects  {msg}")
            .map(|s| s.progress_chars("=> "))
            .unwrap_or_else(|_| ProgressStyle::default_bar());
        bar.set_style(style);
        bar.set_prefix(format!(
            "{} {} → {}",
            started.direction.to_lowercase(),
            started.source,
            started.target
        ));
        bar.enable_steady_tick(Duration::from_millis(200));
        Progress::Bar(bar)
    }

    fn started(&mut self, started: &PivotStarted) {
        let line = format!(
            "{} {} of cluster {} started: {} → {}",
            started.direction.to_lowercase(),
            started.id,
            started.cluster,
            started.source,
            started.target
        );
        match self {
            Progress::Bar(bar) => bar.println(line),
            Progress::Lines(_) => println!("{line}"),
            Progress::Quiet => {}
        }
    }

    fn show(&mut self, pivot: &PivotView) {
        let line = progress_line(pivot);
        match self {
            Progress::Bar(bar) => {
                bar.set_length(pivot.objects_total);
                bar.set_position(pivot.objects_moved);
                bar.set_message(line);
            }
            Progress::Lines(last) => {
                if last.as_deref() != Some(line.as_str()) {
                    println!("{line}");
                    *last = Some(line);
                }
            }
            Progress::Quiet => {}
        }
    }

    fn finish(&self) {
        if let Progress::Bar(bar) = self {
            bar.finish();
        }
    }
}

/// `Creating: batch 2 of 6, 5/16 objects moved` — the phase, where in it, and the objects.
pub fn progress_line(pivot: &PivotView) -> String {
    let batch = match pivot.phase.as_str() {
        "Creating" | "Deleting" | "RollingBack" if pivot.batch_count > 0 => format!(
            ": batch {} of {}",
            (pivot.batch_index + 1).min(pivot.batch_count),
            pivot.batch_count
        ),
        _ => String::new(),
    };
    let objects = if pivot.objects_total > 0 {
        format!(
            ", {}/{} objects moved",
            pivot.objects_moved, pivot.objects_total
        )
    } else {
        String::new()
    };
    let error = match (&pivot.error, pivot.phase.as_str()) {
        (Some(error), "Failed" | "RollingBack") => format!(" — {error}"),
        (Some(error), _) => format!(" (retrying: {error})"),
        (None, _) => String::new(),
    };
    format!("{}{batch}{objects}{error}", pivot.phase)
}

/// The `Pivots:` section of `describe cluster`: each pivot and unpivot (newest first) with its
/// direction, state, error and events.
pub fn history(list: &Value) -> String {
    let Ok(list) = serde_json::from_value::<PivotList>(list.clone()) else {
        return String::new();
    };
    if list.items.is_empty() {
        return "Pivots:          none".to_string();
    }
    let mut lines = vec!["Pivots:".to_string()];
    for pivot in &list.items {
        lines.push(format!(
            "  {}  {:<7}  {} → {}  {}  started {}",
            pivot.id,
            pivot.direction.to_lowercase(),
            pivot.source,
            pivot.target,
            progress_line(pivot),
            pivot.created_at.format("%Y-%m-%d %H:%M:%S UTC"),
        ));
        for event in &pivot.events {
            lines.push(format!(
                "    {}  {:<12} {:<6} {:<34} {}",
                event.at.format("%H:%M:%S"),
                event.phase,
                if event.success { "ok" } else { "FAILED" },
                event.step,
                event.message
            ));
        }
    }
    lines.join("\n")
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn view(phase: &str, index: u32, count: u32, error: Option<&str>) -> PivotView {
        let at = chrono::DateTime::parse_from_rfc3339("2026-12-07T04:00:00Z")
            .unwrap()
            .to_utc();
        PivotView {
            id: "p1".into(),
            cluster: "w1".into(),
            direction: "Pivot".into(),
            source: "mgmt".into(),
            target: "w1".into(),
            capi_cluster: "lattice-cluster-w1/w1".into(),
            phase: phase.into(),
            batch_index: index,
            batch_count: count,
            objects_total: 16,
            objects_moved: 5,
            error: error.map(str::to_string),
            created_at: at,
            updated_at: at,
            finished_at: None,
            events: Vec::new(),
        }
    }

    #[test]
    fn a_progress_line_says_phase_batch_and_objects() {
        assert_eq!(
            progress_line(&view("Creating", 1, 6, None)),
            "Creating: batch 2 of 6, 5/16 objects moved"
        );
        assert_eq!(
            progress_line(&view("Unpausing", 6, 6, None)),
            "Unpausing, 5/16 objects moved"
        );
        assert_eq!(
            progress_line(&view("Failed", 0, 0, Some("boom"))),
            "Failed, 5/16 objects moved — boom"
        );
    }

    #[test]
    fn the_history_names_each_moves_direction() {
        let mut unpivot = view("Unpivoted", 6, 6, None);
        unpivot.direction = "Unpivot".into();
        unpivot.source = "w1".into();
        unpivot.target = "mgmt".into();
        let list = PivotList {
            cluster: "w1".into(),
            items: vec![unpivot, view("Pivoted", 6, 6, None)],
        };
        let text = history(&serde_json::to_value(&list).unwrap());
        let lines: Vec<&str> = text.lines().collect();
        assert!(
            lines[1].contains("  unpivot  w1 → mgmt  Unpivoted"),
            "{text}"
        );
        assert!(lines[2].contains("  pivot    mgmt → w1  Pivoted"), "{text}");
    }
}
