//! The config file of `latticectl`, like a kubeconfig: several cells ("contexts"), each with its
//! server URL, token file and CA file, and the current one. `latticectl config get-contexts`,
//! `use-context` and `current-context` read and write it; every other command takes its server
//! and token from the chosen context unless `--server`/`LATTICE_SERVER` or
//! `--token`/`LATTICE_TOKEN` say otherwise (decision 0054).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::args::ConfigCommand;
use crate::client::CtlError;

/// The server when neither a flag, the environment nor a context names one.
pub const DEFAULT_SERVER: &str = "https://127.0.0.1:8080";

/// The config file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct ConfigFile {
    /// The context used when `--context` is not given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current_context: Option<String>,
    /// The cells.
    #[serde(default)]
    pub contexts: Vec<Context>,
}

/// One cell.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Context {
    /// The context's name (`--context NAME`).
    pub name: String,
    /// URL of the cell's REST API.
    pub server: String,
    /// A file holding the admin bearer token (relative to the config file's directory). The
    /// token itself is never stored in the config file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_file: Option<PathBuf>,
    /// The CA certificate to verify the server's TLS certificate with (relative to the config
    /// file's directory); for a cell serving HTTPS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<PathBuf>,
}

/// Where and how to reach the cell, after flags, environment and context.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// URL of the cell's REST API.
    pub server: String,
    /// The bearer token, if any.
    pub token: Option<String>,
    /// The context's CA file, if any (resolved against the config file's directory).
    pub ca_file: Option<PathBuf>,
}

/// The config file's path: `LATTICECONFIG`, else `$XDG_CONFIG_HOME/lattice/config`, else
/// `$HOME/.config/lattice/config` (`None` when none of these is set).
pub fn path(env: impl Fn(&str) -> Option<String>) -> Option<PathBuf> {
    if let Some(path) = env("LATTICECONFIG").filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(path));
    }
    let base = env("XDG_CONFIG_HOME")
        .filter(|p| !p.is_empty())
        .map(PathBuf::from)
        .or_else(|| env("HOME").map(|home| Path::new(&home).join(".config")))?;
    Some(base.join("lattice").join("config"))
}

/// The config file at `path`; an empty one when it does not exist.
pub fn load(path: &Path) -> Result<ConfigFile, CtlError> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(ConfigFile::default()),
        Err(e) => {
            return Err(CtlError::File {
                path: path.display().to_string(),
                detail: e.to_string(),
            });
        }
    };
    serde_saphyr::from_str(&text).map_err(|e| {
        CtlError::Config(format!(
            "{}: not a latticectl config file: {e}",
            path.display()
        ))
    })
}

/// The context to use: `requested` (`--context`), else the file's current context, else none.
pub fn choose<'a>(
    file: &'a ConfigFile,
    requested: Option<&str>,
    path: &Path,
) -> Result<Option<&'a Context>, CtlError> {
    let Some(name) = requested.or(file.current_context.as_deref()) else {
        return Ok(None);
    };
    file.contexts
        .iter()
        .find(|c| c.name == name)
        .map(Some)
        .ok_or_else(|| {
            let known: Vec<&str> = file.contexts.iter().map(|c| c.name.as_str()).collect();
            CtlError::Config(format!(
                "context {name:?} is not in {} (contexts: {})",
                path.display(),
                if known.is_empty() {
                    "none".to_string()
                } else {
                    known.join(", ")
                }
            ))
        })
}

/// Flags and environment (`server`, `token`, `ca_file`) over the context's, over the default.
pub fn target(
    server: Option<&str>,
    token: Option<&str>,
    ca_file: Option<&Path>,
    context: Option<&Context>,
    dir: &Path,
) -> Result<Target, CtlError> {
    let server = server
        .map(str::to_string)
        .or_else(|| context.map(|c| c.server.clone()))
        .unwrap_or_else(|| DEFAULT_SERVER.to_string());
    let token = match (token, context.and_then(|c| c.token_file.as_ref())) {
        (Some(token), _) => Some(token.to_string()),
        (None, Some(file)) => {
            let file = dir.join(file);
            let text = std::fs::read_to_string(&file).map_err(|e| CtlError::File {
                path: file.display().to_string(),
                detail: format!("cannot read the context's token-file: {e}"),
            })?;
            Some(text.trim().to_string())
        }
        (None, None) => None,
    };
    Ok(Target {
        server,
        token,
        ca_file: ca_file.map(Path::to_path_buf).or_else(|| {
            context
                .and_then(|c| c.ca_file.as_ref())
                .map(|f| dir.join(f))
        }),
    })
}

/// Runs `config <command>` on the file at `path`.
pub fn run(command: ConfigCommand, path: Option<&Path>) -> Result<String, CtlError> {
    let path = path
        .ok_or_else(|| CtlError::Config("no config file: set LATTICECONFIG or HOME".to_string()))?;
    let mut file = load(path)?;
    match command {
        ConfigCommand::GetContexts => Ok(contexts_table(&file)),
        ConfigCommand::CurrentContext => file
            .current_context
            .clone()
            .ok_or_else(|| CtlError::Config(format!("{} has no current-context", path.display()))),
        ConfigCommand::UseContext { name } => {
            choose(&file, Some(&name), path)?;
            file.current_context = Some(name.clone());
            let text =
                serde_saphyr::to_string(&file).map_err(|e| CtlError::Render(e.to_string()))?;
            std::fs::write(path, text).map_err(|e| CtlError::File {
                path: path.display().to_string(),
                detail: e.to_string(),
            })?;
            Ok(format!("Switched to context {name:?}."))
        }
    }
}

/// `config get-contexts`: one row per context, `*` on the current one.
pub fn contexts_table(file: &ConfigFile) -> String {
    let rows = file
        .contexts
        .iter()
        .map(|c| {
            let current = file.current_context.as_deref() == Some(c.name.as_str());
            let shown = |p: &Option<PathBuf>| {
                p.as_ref()
                    .map_or("-".to_string(), |p| p.display().to_string())
            };
            vec![
                if current { "*" } else { "" }.to_string(),
                c.name.clone(),
                c.server.clone(),
                shown(&c.token_file),
                shown(&c.ca_file),
            ]
        })
        .collect();
    crate::output::table(
        &["current", "name", "server", "token-file", "ca-file"],
        rows,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file() -> ConfigFile {
        serde_saphyr::from_str(
            "current-context: dev\ncontexts:\n  - name: dev\n    server: http://127.0.0.1:8080\n  - name: prod\n    server: https://cell.example:8443\n    token-file: prod-token\n    ca-file: prod-ca.crt\n",
        )
        .unwrap()
    }

    #[test]
    fn flags_and_environment_override_the_context() {
        let file = file();
        let dir = Path::new("/etc/lattice");
        let prod = choose(&file, Some("prod"), dir).unwrap();
        let resolved = target(Some("http://other:1"), Some("t"), None, prod, dir).unwrap();
        assert_eq!(
            resolved,
            Target {
                server: "http://other:1".to_string(),
                token: Some("t".to_string()),
                ca_file: Some(PathBuf::from("/etc/lattice/prod-ca.crt")),
            }
        );
        let dev = choose(&file, None, dir).unwrap();
        assert_eq!(dev.unwrap().name, "dev");
        let none = target(None, None, None, None, dir).unwrap();
        assert_eq!(none.server, DEFAULT_SERVER);
        // --ca-file / LATTICE_CA_FILE wins over the context's ca-file.
        let flagged = target(None, Some("t"), Some(Path::new("/tmp/ca.pem")), prod, dir).unwrap();
        assert_eq!(flagged.ca_file, Some(PathBuf::from("/tmp/ca.pem")));
    }

    #[test]
    fn an_unknown_context_names_the_file_and_the_known_ones() {
        let err = choose(&file(), Some("staging"), Path::new("/x/config")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "context \"staging\" is not in /x/config (contexts: dev, prod)"
        );
    }

    #[test]
    fn a_misspelt_field_is_refused() {
        let err = serde_saphyr::from_str::<ConfigFile>(
            "contexts:\n  - name: a\n    server: http://x\n    tokenfile: t\n",
        )
        .unwrap_err();
        assert!(err.to_string().contains("tokenfile"), "{err}");
    }

    #[test]
    fn the_path_is_latticeconfig_else_the_xdg_config_dir() {
        let env = |vars: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                vars.iter()
                    .find(|(name, _)| *name == k)
                    .map(|(_, v)| v.to_string())
            }
        };
        assert_eq!(
            path(env(&[("LATTICECONFIG", "/c"), ("HOME", "/h")])),
            Some(PathBuf::from("/c"))
        );
        assert_eq!(
            path(env(&[("HOME", "/h")])),
            Some(PathBuf::from("/h/.config/lattice/config"))
        );
        assert_eq!(path(env(&[])), None);
    }
}
