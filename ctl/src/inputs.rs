//! Reading `-f` arguments: a file, `-` (stdin), or a directory (its `*.yaml`, `*.yml` and
//! `*.json` files in name order, not recursing — as `kubectl apply -f DIR` does).

use std::path::{Path, PathBuf};

use super::client::CtlError;

/// One input file and its text.
#[derive(Debug, Clone)]
pub struct Input {
    /// Name for messages (path or `-`).
    pub name: String,
    /// The YAML or JSON text.
    pub text: String,
}

/// Reads every input, expanding directories.
pub fn read_inputs(paths: &[PathBuf]) -> Result<Vec<Input>, CtlError> {
    let mut inputs = Vec::new();
    for path in paths {
        if path.is_dir() {
            for file in directory_files(path)? {
                inputs.push(read_file(&file)?);
            }
        } else {
            inputs.push(read_file(path)?);
        }
    }
    Ok(inputs)
}

fn read_file(path: &Path) -> Result<Input, CtlError> {
    let name = path.display().to_string();
    let text = if name == "-" {
        std::io::read_to_string(std::io::stdin())
    } else {
        std::fs::read_to_string(path)
    }
    .map_err(|e| CtlError::File {
        path: name.clone(),
        detail: e.to_string(),
    })?;
    Ok(Input { name, text })
}

/// The manifest files of a directory, sorted; an empty directory is an error.
fn directory_files(dir: &Path) -> Result<Vec<PathBuf>, CtlError> {
    let error = |detail: String| CtlError::File {
        path: dir.display().to_string(),
        detail,
    };
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| error(e.to_string()))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| {
            p.is_file()
                && p.extension()
                    .is_some_and(|e| e == "yaml" || e == "yml" || e == "json")
        })
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(error(
            "the directory holds no .yaml, .yml or .json file".to_string(),
        ));
    }
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_directory_expands_to_its_manifests_in_name_order() {
        let dir = tempfile::tempdir().unwrap();
        for name in ["b.yaml", "a.json", "notes.txt", "c.yml"] {
            std::fs::write(dir.path().join(name), name).unwrap();
        }
        std::fs::create_dir(dir.path().join("sub.yaml")).unwrap();
        let inputs = read_inputs(&[dir.path().to_path_buf()]).unwrap();
        let texts: Vec<&str> = inputs.iter().map(|i| i.text.as_str()).collect();
        assert_eq!(texts, vec!["a.json", "b.yaml", "c.yml"]);
        let empty = tempfile::tempdir().unwrap();
        assert!(read_inputs(&[empty.path().to_path_buf()]).is_err());
    }
}
