//! Renders derived objects as text, grouped by apply layer — what `latticectl derive` prints
//! (like `helm template`). YAML is a multi-document stream that `kubectl apply -f -` accepts,
//! with a comment heading each layer; JSON is `{"layers": [{"layer", "objects"}]}`.

use serde_json::{Value, json};

use crate::derived::{ApplyLayer, Derived, DerivedObject};

/// Output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Multi-document YAML.
    Yaml,
    /// Pretty-printed JSON.
    Json,
}

/// Why rendering failed.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    /// The YAML serializer refused an object.
    #[error("cannot render as YAML: {0}")]
    Yaml(#[from] serde_saphyr::ser::Error),
    /// The JSON serializer refused an object.
    #[error("cannot render as JSON: {0}")]
    Json(#[from] serde_json::Error),
}

/// Renders the objects of every `Derived`, grouped by layer in apply order (all infrastructure
/// objects first, then workloads, then autoscalers); within a layer, in the order given.
/// Empty layers are left out.
pub fn render(derived: &[Derived], format: Format) -> Result<String, RenderError> {
    let layers: Vec<(ApplyLayer, Vec<&DerivedObject>)> = ApplyLayer::ALL
        .into_iter()
        .map(|layer| {
            let objects = derived
                .iter()
                .flat_map(|d| d.layer(layer))
                .collect::<Vec<_>>();
            (layer, objects)
        })
        .filter(|(_, objects)| !objects.is_empty())
        .collect();
    match format {
        Format::Yaml => render_yaml(&layers),
        Format::Json => render_json(&layers),
    }
}

fn render_yaml(layers: &[(ApplyLayer, Vec<&DerivedObject>)]) -> Result<String, RenderError> {
    let mut out = String::new();
    for (layer, objects) in layers {
        let position = ApplyLayer::ALL.iter().position(|l| l == layer).unwrap_or(0) + 1;
        let count = objects.len();
        let noun = if count == 1 { "object" } else { "objects" };
        out.push_str(&format!(
            "# layer {position} of {}: {} ({count} {noun})\n",
            ApplyLayer::ALL.len(),
            layer.as_str()
        ));
        for object in objects {
            out.push_str("---\n");
            out.push_str(&serde_saphyr::to_string(&object.object)?);
        }
    }
    Ok(out)
}

fn render_json(layers: &[(ApplyLayer, Vec<&DerivedObject>)]) -> Result<String, RenderError> {
    let layers: Vec<Value> = layers
        .iter()
        .map(|(layer, objects)| {
            json!({
                "layer": layer.as_str(),
                "objects": objects.iter().map(|o| o.object.clone()).collect::<Vec<_>>(),
            })
        })
        .collect();
    let mut text = serde_json::to_string_pretty(&json!({ "layers": layers }))?;
    text.push('\n');
    Ok(text)
}
