//! Cedar parse and validation errors turned into plain diagnostics with a line and column in the
//! policy document, so `CedarPolicy` status and `latticectl` can point at the offending text.

use std::fmt;

use miette::Diagnostic;
use serde::{Deserialize, Serialize};

/// A position in a policy document: 1-based line, 1-based column counted in characters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct SourceLocation {
    /// Line number, starting at 1.
    pub line: usize,
    /// Column number in characters (not bytes), starting at 1.
    pub column: usize,
}

impl SourceLocation {
    /// The location of byte `offset` in `text` (clamped to the end of the text, and to the start
    /// of the character the offset falls in).
    pub fn of_offset(text: &str, offset: usize) -> Self {
        let mut offset = offset.min(text.len());
        while !text.is_char_boundary(offset) {
            offset -= 1;
        }
        let before = &text[..offset];
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        Self {
            line: before.matches('\n').count() + 1,
            column: before[line_start..].chars().count() + 1,
        }
    }
}

/// One problem found in a policy document.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct SourceDiagnostic {
    /// Where the problem is, when Cedar reports a source span for it.
    pub location: Option<SourceLocation>,
    /// The policy it concerns, when known (`<document>/<index>` or its `@id`).
    pub policy_id: Option<String>,
    /// Cedar's description of the problem.
    pub message: String,
    /// Cedar's suggestion, if it has one.
    pub help: Option<String>,
}

impl SourceDiagnostic {
    /// Builds a diagnostic from a Cedar error, locating its primary label (or first label) in
    /// `text`, the document the error was found in.
    pub(crate) fn from_cedar(
        text: &str,
        policy_id: Option<String>,
        diagnostic: &(dyn Diagnostic + '_),
    ) -> Self {
        let location = diagnostic.labels().and_then(|labels| {
            let labels: Vec<_> = labels.collect();
            labels
                .iter()
                .find(|l| l.primary())
                .or_else(|| labels.first())
                .map(|l| SourceLocation::of_offset(text, l.offset()))
        });
        Self {
            location,
            policy_id,
            message: diagnostic.to_string(),
            help: diagnostic.help().map(|h| h.to_string()),
        }
    }

    /// A diagnostic Lattice raises itself (not from Cedar).
    pub(crate) fn lattice(
        location: Option<SourceLocation>,
        policy_id: Option<String>,
        message: String,
    ) -> Self {
        Self {
            location,
            policy_id,
            message,
            help: None,
        }
    }
}

impl fmt::Display for SourceDiagnostic {
    /// `line L, column C: message (policy P); help: …`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(loc) = self.location {
            write!(f, "line {}, column {}: ", loc.line, loc.column)?;
        }
        f.write_str(&self.message)?;
        // Cedar's messages usually name the policy already ("for policy `doc/0`, ...").
        if let Some(id) = self
            .policy_id
            .as_ref()
            .filter(|id| !self.message.contains(id.as_str()))
        {
            write!(f, " (policy {id:?})")?;
        }
        if let Some(help) = &self.help {
            write!(f, "; help: {help}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn offsets_map_to_lines_and_character_columns() {
        let text = "ab\ncdé\nf";
        let at = |o| {
            let l = SourceLocation::of_offset(text, o);
            (l.line, l.column)
        };
        assert_eq!(at(0), (1, 1));
        assert_eq!(at(2), (1, 3));
        assert_eq!(at(3), (2, 1));
        // 'é' is two bytes: the 'f' after "\n" is still column 1 of line 3 ...
        assert_eq!(at(8), (3, 1));
        // ... and an offset inside 'é' points at 'é' (column 3).
        assert_eq!(at(6), (2, 3));
        assert_eq!(at(7), (2, 4));
        assert_eq!(at(100), (3, 2));
    }
}
