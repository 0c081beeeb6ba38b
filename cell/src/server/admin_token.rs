//! The admin bearer token: `LATTICE_ADMIN_TOKEN`, or `--admin-token-file`, or with `--dev` the
//! file `<data-dir>/admin-token` (generated, mode 0600, if absent). The value is never logged.

use std::path::{Path, PathBuf};

use zeroize::Zeroizing;

use crate::ca::key::write_private_file;
use crate::token::{ADMIN_TOKEN_PREFIX, SecretToken};

/// Environment variable holding the admin token.
pub const ADMIN_TOKEN_ENV: &str = "LATTICE_ADMIN_TOKEN";

/// Why no admin token is available.
#[derive(Debug, thiserror::Error)]
pub enum AdminTokenError {
    /// None given and not in dev mode.
    #[error(
        "no admin token: set {ADMIN_TOKEN_ENV} or pass --admin-token-file FILE (for local experiments, --dev generates one into the data dir)"
    )]
    Missing,
    /// The file could not be read or written.
    #[error("cannot access the admin token file {path}: {detail}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        detail: String,
    },
    /// The token is too short to be a secret.
    #[error("the admin token from {0} is shorter than 16 characters")]
    TooShort(String),
}

/// Where the admin token came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AdminTokenSource {
    /// The environment.
    Environment,
    /// An operator-provided file.
    File(PathBuf),
    /// The dev file, and whether it was generated now.
    DevFile(PathBuf, bool),
}

/// Resolves the admin token.
pub fn resolve_admin_token(
    env_value: Option<&str>,
    file: Option<&Path>,
    dev: bool,
    data_dir: &Path,
) -> Result<(SecretToken, AdminTokenSource), AdminTokenError> {
    if let Some(value) = env_value.map(str::trim).filter(|v| !v.is_empty()) {
        return Ok((
            checked(value, ADMIN_TOKEN_ENV)?,
            AdminTokenSource::Environment,
        ));
    }
    if let Some(path) = file {
        return Ok((read(path)?, AdminTokenSource::File(path.to_path_buf())));
    }
    if !dev {
        return Err(AdminTokenError::Missing);
    }
    let path = data_dir.join("admin-token");
    if path.exists() {
        return Ok((read(&path)?, AdminTokenSource::DevFile(path, false)));
    }
    let token = SecretToken::generate(ADMIN_TOKEN_PREFIX);
    write_private_file(&path, token.expose().as_bytes()).map_err(|e| AdminTokenError::Io {
        path: path.clone(),
        detail: e.to_string(),
    })?;
    Ok((token, AdminTokenSource::DevFile(path, true)))
}

fn read(path: &Path) -> Result<SecretToken, AdminTokenError> {
    let text = Zeroizing::new(
        std::fs::read_to_string(path).map_err(|e| AdminTokenError::Io {
            path: path.to_path_buf(),
            detail: e.to_string(),
        })?,
    );
    checked(text.trim(), &path.display().to_string())
}

fn checked(value: &str, source: &str) -> Result<SecretToken, AdminTokenError> {
    if value.len() < 16 {
        return Err(AdminTokenError::TooShort(source.to_string()));
    }
    Ok(SecretToken::new(value))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_to_start_without_a_token_unless_dev() {
        let dir = tempfile::tempdir().unwrap();
        let err = resolve_admin_token(None, None, false, dir.path()).unwrap_err();
        assert!(err.to_string().contains(ADMIN_TOKEN_ENV));
        let (token, source) = resolve_admin_token(None, None, true, dir.path()).unwrap();
        assert!(matches!(source, AdminTokenSource::DevFile(_, true)));
        let (again, _) = resolve_admin_token(None, None, true, dir.path()).unwrap();
        assert_eq!(token, again);
    }

    #[test]
    fn short_tokens_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        assert!(matches!(
            resolve_admin_token(Some("short"), None, false, dir.path()),
            Err(AdminTokenError::TooShort(_))
        ));
    }
}
