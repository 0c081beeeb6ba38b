//! Resolves one value (a variable or a file's content) against the declared resources and
//! decides its secret route: plain text (no secret), a pure secret reference (route 1), or an
//! ESO template (routes 2 and 3). Non-secret references (service host/port/url, external
//! endpoint URLs) are rendered into text here; secret values never are — they stay ESO template
//! placeholders, so the cell never sees them.

use std::collections::BTreeMap;

use crate::error::FieldError;
use crate::naming::template_key;
use crate::spec::ResourceType;
use crate::syntax::reference::{Reference, Segment, Template};

use super::ServiceRef;
use super::secrets::{RemoteRef, SecretSources};
use crate::context::DeriveContext;
use crate::spec::LatticeService;

/// How one value reaches the container.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Resolution {
    /// No secret: the rendered text.
    Plain(String),
    /// Exactly one secret reference and nothing else (route 1).
    SecretKey { resource: String, key: String },
    /// Text mixing secrets with other content: an ESO v2 template over one store.
    Templated(TemplatedValue),
}

/// A value rendered as an ESO template.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct TemplatedValue {
    /// The ClusterSecretStore every referenced secret comes from.
    pub store: String,
    /// The Go template: literal parts escaped, secrets as `{{ .R_K }}`.
    pub template: String,
    /// Template keys to remote references.
    pub data: BTreeMap<String, RemoteRef>,
    /// Secret resources referenced.
    pub resources: Vec<String>,
}

/// Everything value resolution needs to know.
pub(crate) struct Resolver<'a> {
    pub service: &'a ServiceRef,
    pub svc: &'a LatticeService,
    pub ctx: &'a DeriveContext,
    pub secrets: &'a SecretSources,
}

/// A rendered piece: text or a secret placeholder.
enum Piece {
    Text(String),
    Secret(String),
}

impl Resolver<'_> {
    /// Resolves `text` found at `field`, reporting every bad reference.
    pub(crate) fn resolve(
        &self,
        field: &str,
        text: &str,
        errors: &mut Vec<FieldError>,
    ) -> Option<Resolution> {
        let template = match Template::parse(text) {
            Ok(t) => t,
            Err(e) => {
                errors.push(FieldError::new(field, e.to_string()));
                return None;
            }
        };
        if let Some(r) = template.as_single_reference()
            && self.is_secret(&r.resource)
        {
            let key = self.secret_key(field, r, errors)?;
            return Some(Resolution::SecretKey {
                resource: r.resource.clone(),
                key,
            });
        }
        let mut pieces: Vec<Piece> = Vec::new();
        let mut data = BTreeMap::new();
        let mut stores: BTreeMap<String, String> = BTreeMap::new();
        let mut resources = Vec::new();
        let mut ok = true;
        for segment in &template.segments {
            match segment {
                Segment::Literal(s) => push_text(&mut pieces, s),
                Segment::Reference(r) if self.is_secret(&r.resource) => {
                    let Some(key) = self.secret_key(field, r, errors) else {
                        ok = false;
                        continue;
                    };
                    let Some(source) = self.secrets.get(&r.resource) else {
                        ok = false;
                        continue;
                    };
                    let tkey = template_key(&r.resource, &key);
                    let remote = RemoteRef {
                        key: source.id.clone(),
                        property: Some(key),
                    };
                    if let Some(previous) = data.insert(tkey.clone(), remote.clone())
                        && previous != remote
                    {
                        errors.push(FieldError::new(
                            field,
                            format!("two references become the template key {tkey:?}; rename a resource or key so they differ"),
                        ));
                        ok = false;
                    }
                    stores
                        .entry(source.store.clone())
                        .or_insert_with(|| r.resource.clone());
                    if !resources.contains(&r.resource) {
                        resources.push(r.resource.clone());
                    }
                    pieces.push(Piece::Secret(tkey));
                }
                Segment::Reference(r) => match self.render_non_secret(r) {
                    Ok(text) => push_text(&mut pieces, &text),
                    Err(message) => {
                        errors.push(FieldError::new(field, message));
                        ok = false;
                    }
                },
            }
        }
        if stores.len() > 1 {
            let listed: Vec<String> = stores
                .iter()
                .map(|(store, resource)| format!("{store:?} (via {resource})"))
                .collect();
            errors.push(FieldError::new(
                field,
                format!(
                    "draws secrets from more than one store: {}; one value may use one store only (split it into several values)",
                    listed.join(" and ")
                ),
            ));
            return None;
        }
        if !ok {
            return None;
        }
        match stores.into_keys().next() {
            None => Some(Resolution::Plain(
                pieces
                    .into_iter()
                    .map(|p| match p {
                        Piece::Text(t) | Piece::Secret(t) => t,
                    })
                    .collect(),
            )),
            Some(store) => Some(Resolution::Templated(TemplatedValue {
                store,
                template: go_template(&pieces),
                data,
                resources,
            })),
        }
    }

    /// A resolution as an ESO template: a pure secret reference becomes the template
    /// `{{ .R_K }}` (a file that is exactly one secret still follows the file route);
    /// plain text has no template.
    pub(crate) fn as_template(&self, resolution: Resolution) -> Option<TemplatedValue> {
        match resolution {
            Resolution::Plain(_) => None,
            Resolution::Templated(t) => Some(t),
            Resolution::SecretKey { resource, key } => {
                let source = self.secrets.get(&resource)?;
                let tkey = template_key(&resource, &key);
                Some(TemplatedValue {
                    store: source.store.clone(),
                    template: go_template(&[Piece::Secret(tkey.clone())]),
                    data: BTreeMap::from([(
                        tkey,
                        RemoteRef {
                            key: source.id.clone(),
                            property: Some(key),
                        },
                    )]),
                    resources: vec![resource],
                })
            }
        }
    }

    fn is_secret(&self, resource: &str) -> bool {
        self.declaration_type(resource) == Some(ResourceType::Secret)
    }

    fn declaration_type(&self, resource: &str) -> Option<ResourceType> {
        self.svc
            .spec
            .workload
            .resources
            .get(resource)
            .map(|d| d.type_)
    }

    /// The key of a secret reference, checked against the declared keys.
    fn secret_key(
        &self,
        field: &str,
        r: &Reference,
        errors: &mut Vec<FieldError>,
    ) -> Option<String> {
        let Some(key) = &r.key else {
            errors.push(FieldError::new(
                field,
                format!("{r} needs a key: write ${{resources.{}.<key>}}", r.resource),
            ));
            return None;
        };
        let declared = self
            .svc
            .spec
            .workload
            .resources
            .get(&r.resource)
            .and_then(|d| d.params().keys.as_ref());
        if let Some(keys) = declared
            && !keys.contains(key)
        {
            errors.push(FieldError::new(
                field,
                format!(
                    "{r}: key {key:?} is not declared in spec.workload.resources.{}.params.keys (declared: {})",
                    r.resource,
                    keys.join(", ")
                ),
            ));
            return None;
        }
        Some(key.clone())
    }

    /// The text a non-secret reference stands for, or why it has none.
    fn render_non_secret(&self, r: &Reference) -> Result<String, String> {
        let Some(decl) = self.svc.spec.workload.resources.get(&r.resource) else {
            return Err(format!(
                "{r}: resource {:?} is not declared in spec.workload.resources",
                r.resource
            ));
        };
        let Some(key) = r.key.as_deref() else {
            return Err(format!(
                "{r} needs a key: write ${{resources.{}.<key>}}",
                r.resource
            ));
        };
        match decl.type_ {
            ResourceType::Service => {
                let namespace = decl.namespace.as_deref().unwrap_or(&self.service.namespace);
                let host = format!("{}.{namespace}.svc.{}", r.resource, self.ctx.cluster_domain);
                let port = || {
                    self.ctx
                        .peers
                        .get(&format!("{namespace}/{}", r.resource))
                        .and_then(|p| p.primary_port)
                        .ok_or_else(|| {
                            format!(
                                "{r}: the port of service {namespace}/{} is not known; derive it together with that service's spec (it needs a port named http or a single TCP port)",
                                r.resource
                            )
                        })
                };
                match key {
                    "host" => Ok(host),
                    "port" => Ok(port()?.to_string()),
                    "url" => Ok(format!("http://{host}:{}", port()?)),
                    _ => Err(format!(
                        "{r}: a service resource provides host, port and url, not {key:?}"
                    )),
                }
            }
            ResourceType::ExternalService => decl
                .params()
                .endpoints
                .as_ref()
                .and_then(|e| e.get(key))
                .cloned()
                .ok_or_else(|| {
                    let names: Vec<&str> = decl
                        .params()
                        .endpoints
                        .iter()
                        .flat_map(|e| e.keys().map(String::as_str))
                        .collect();
                    format!(
                        "{r}: {:?} is not an endpoint of {} (endpoints: {})",
                        key,
                        r.resource,
                        names.join(", ")
                    )
                }),
            ResourceType::Volume | ResourceType::Gpu => Err(format!(
                "{r}: a {} resource has no values to reference; mount volumes with volumes.<path>.source",
                decl.type_.as_str()
            )),
            ResourceType::Secret => Err(format!("{r} is a secret")),
        }
    }
}

fn push_text(pieces: &mut Vec<Piece>, text: &str) {
    if let Some(Piece::Text(last)) = pieces.last_mut() {
        last.push_str(text);
    } else {
        pieces.push(Piece::Text(text.to_string()));
    }
}

/// Renders pieces as an ESO (Go text/template) template. Literal text is escaped so nothing the
/// user wrote can become a template action: every `{{` becomes `{{ "{{" }}`, and a lone `{`
/// right before a placeholder becomes `{{ "{" }}` (otherwise it would fuse with the placeholder's
/// opening braces).
fn go_template(pieces: &[Piece]) -> String {
    let mut out = String::new();
    for (i, piece) in pieces.iter().enumerate() {
        match piece {
            Piece::Secret(key) => {
                out.push_str("{{ .");
                out.push_str(key);
                out.push_str(" }}");
            }
            Piece::Text(text) => {
                let start = out.len();
                let mut rest = text.as_str();
                while let Some(at) = rest.find("{{") {
                    out.push_str(&rest[..at]);
                    out.push_str(r#"{{ "{{" }}"#);
                    rest = &rest[at + 2..];
                }
                out.push_str(rest);
                let placeholder_follows = matches!(pieces.get(i + 1), Some(Piece::Secret(_)));
                if placeholder_follows && out.len() > start && out.ends_with('{') {
                    out.pop();
                    out.push_str(r#"{{ "{" }}"#);
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Evaluates the templates `go_template` produces the way Go's text/template lexer reads
    /// them: text up to the first `{{`, an action up to the next `}}`.
    fn evaluate(template: &str, values: &BTreeMap<&str, &str>) -> Result<String, String> {
        let mut out = String::new();
        let mut rest = template;
        while let Some(open) = rest.find("{{") {
            out.push_str(&rest[..open]);
            let after = &rest[open + 2..];
            let close = after.find("}}").ok_or("unclosed action")?;
            let action = &after[..close];
            match action {
                r#" "{{" "# => out.push_str("{{"),
                r#" "{" "# => out.push('{'),
                a if a.starts_with(" .") && a.ends_with(' ') => {
                    let key = &a[2..a.len() - 1];
                    out.push_str(values.get(key).ok_or(format!("unknown key {key}"))?);
                }
                other => return Err(format!("unexpected action {other:?}")),
            }
            rest = &after[close + 2..];
        }
        out.push_str(rest);
        Ok(out)
    }

    #[test]
    fn user_braces_cannot_become_actions() {
        let values = BTreeMap::from([("db_password", "s3cr3t")]);
        for literal in ["{{ .Env }}", "a{", "{{{", "}}", "{\"k\": \"", "x{{y}}z{"] {
            let pieces = [
                Piece::Text(literal.to_string()),
                Piece::Secret("db_password".into()),
                Piece::Text("}".into()),
            ];
            let rendered = evaluate(&go_template(&pieces), &values).unwrap();
            assert_eq!(
                rendered,
                format!("{literal}s3cr3t}}"),
                "literal {literal:?}"
            );
        }
    }

    proptest::proptest! {
        #[test]
        fn escaping_round_trips_any_text(a in ".{0,20}", b in ".{0,20}") {
            let values = BTreeMap::from([("r_k", "VALUE")]);
            let pieces = [Piece::Text(a.clone()), Piece::Secret("r_k".into()), Piece::Text(b.clone())];
            let rendered = evaluate(&go_template(&pieces), &values).unwrap();
            proptest::prop_assert_eq!(rendered, format!("{a}VALUE{b}"));
        }
    }
}
