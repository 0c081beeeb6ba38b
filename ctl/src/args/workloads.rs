//! The `get` and `delete` targets of the workload kinds, built from the table of kinds
//! (`lattice_api::kinds`) instead of one clap variant per kind: for each row, `get <cli_plural>`
//! (alias the REST plural) lists, `get <cli_singular> NAME` (alias the singular) shows one, and
//! `delete <cli_singular> NAME` deletes one. Flattened into [`super::GetCommand`] and
//! [`super::DeleteCommand`].

use clap::error::ErrorKind;
use clap::{Arg, ArgMatches, Command, FromArgMatches, Subcommand};
use lattice_api::kinds::{WORKLOAD_KINDS, WorkloadKind};

/// `get` of a workload kind.
#[derive(Debug, Clone)]
pub enum WorkloadGet {
    /// Every spec of the kind (optionally in one namespace).
    List {
        /// The kind's row.
        kind: &'static WorkloadKind,
        /// Only this namespace.
        namespace: Option<String>,
    },
    /// One spec with its status.
    One {
        /// The kind's row.
        kind: &'static WorkloadKind,
        /// The spec.
        name: String,
        /// Its namespace.
        namespace: String,
    },
}

/// `delete` of one spec of a workload kind.
#[derive(Debug, Clone)]
pub struct WorkloadDelete {
    /// The kind's row.
    pub kind: &'static WorkloadKind,
    /// The spec.
    pub name: String,
    /// Its namespace.
    pub namespace: String,
}

/// `describe` of one spec of a workload kind: `NAME -n NAMESPACE`, or `NAMESPACE/NAME`.
#[derive(Debug, Clone)]
pub struct WorkloadDescribe {
    /// The kind's row.
    pub kind: &'static WorkloadKind,
    /// The spec.
    pub name: String,
    /// Its namespace (empty for a cluster-scoped kind).
    pub namespace: String,
}

fn namespace_filter() -> Arg {
    Arg::new("namespace")
        .short('n')
        .long("namespace")
        .help("Only this namespace (the NAME's namespace; `default` when absent).")
}

/// The NAME argument, and `-n NAMESPACE` for a namespaced kind.
fn name_and_namespace(row: &WorkloadKind, command: Command) -> Command {
    let command = command.arg(Arg::new("name").required(true).help("Name."));
    if row.is_cluster_scoped() {
        return command;
    }
    command.arg(
        Arg::new("namespace")
            .short('n')
            .long("namespace")
            .default_value("default")
            .help("Namespace."),
    )
}

/// `command` answering to `alias` too, unless that is its name already.
fn aliased(command: Command, alias: &'static str) -> Command {
    if command.get_name() == alias {
        command
    } else {
        command.alias(alias)
    }
}

/// The subcommand `name` matched, with its row and its matches.
fn matched(
    matches: &ArgMatches,
    find: impl Fn(&WorkloadKind, &str) -> bool,
) -> Result<(&'static WorkloadKind, &ArgMatches), clap::Error> {
    let (name, sub) = matches
        .subcommand()
        .ok_or_else(|| clap::Error::new(ErrorKind::MissingSubcommand))?;
    let row = WORKLOAD_KINDS
        .iter()
        .find(|row| find(row, name))
        .ok_or_else(|| clap::Error::new(ErrorKind::InvalidSubcommand))?;
    Ok((row, sub))
}

fn string(matches: &ArgMatches, id: &str) -> Option<String> {
    matches.get_one::<String>(id).cloned()
}

/// `name` (required) and `namespace` (defaulted; empty for a cluster-scoped kind) of a matched
/// subcommand.
fn one(matches: &ArgMatches) -> Result<(String, String), clap::Error> {
    let name = string(matches, "name")
        .ok_or_else(|| clap::Error::new(ErrorKind::MissingRequiredArgument))?;
    let namespace = matches
        .try_get_one::<String>("namespace")
        .ok()
        .flatten()
        .cloned()
        .unwrap_or_default();
    Ok((name, namespace))
}

impl FromArgMatches for WorkloadGet {
    fn from_arg_matches(matches: &ArgMatches) -> Result<Self, clap::Error> {
        let (row, sub) = matched(matches, |row, name| {
            row.cli_plural == name || row.cli_singular == name
        })?;
        // Like kubectl, the plural and the singular both list without a NAME and show one with
        // it (`get services hello`, `get service`).
        let namespace = sub
            .try_get_one::<String>("namespace")
            .ok()
            .flatten()
            .cloned();
        let Some(name) = string(sub, "name") else {
            return Ok(WorkloadGet::List {
                kind: row,
                namespace,
            });
        };
        let namespace = if row.is_cluster_scoped() {
            String::new()
        } else {
            namespace.unwrap_or_else(|| "default".to_string())
        };
        Ok(WorkloadGet::One {
            kind: row,
            name,
            namespace,
        })
    }

    fn update_from_arg_matches(&mut self, matches: &ArgMatches) -> Result<(), clap::Error> {
        *self = Self::from_arg_matches(matches)?;
        Ok(())
    }
}

impl Subcommand for WorkloadGet {
    fn augment_subcommands(command: Command) -> Command {
        WORKLOAD_KINDS.iter().fold(command, |command, row| {
            let scope = if row.is_cluster_scoped() {
                "cluster-scoped"
            } else {
                "optionally in one namespace; with NAME, -n defaults to `default`"
            };
            let verb = |name: &'static str, alias: &'static str| {
                let command = aliased(Command::new(name), alias)
                    .about(format!(
                        "{}s ({scope}), or one NAME with its status",
                        row.kind
                    ))
                    .arg(Arg::new("name").help("Name (all when absent)."));
                if row.is_cluster_scoped() {
                    command
                } else {
                    command.arg(namespace_filter())
                }
            };
            command
                .subcommand(verb(row.cli_plural, row.plural))
                .subcommand(verb(row.cli_singular, row.singular))
        })
    }

    fn augment_subcommands_for_update(command: Command) -> Command {
        Self::augment_subcommands(command)
    }

    fn has_subcommand(name: &str) -> bool {
        WORKLOAD_KINDS
            .iter()
            .any(|row| row.cli_plural == name || row.cli_singular == name)
    }
}

impl FromArgMatches for WorkloadDelete {
    fn from_arg_matches(matches: &ArgMatches) -> Result<Self, clap::Error> {
        let (kind, sub) = matched(matches, |row, name| row.cli_singular == name)?;
        let (name, namespace) = one(sub)?;
        Ok(WorkloadDelete {
            kind,
            name,
            namespace,
        })
    }

    fn update_from_arg_matches(&mut self, matches: &ArgMatches) -> Result<(), clap::Error> {
        *self = Self::from_arg_matches(matches)?;
        Ok(())
    }
}

impl Subcommand for WorkloadDelete {
    fn augment_subcommands(command: Command) -> Command {
        WORKLOAD_KINDS.iter().fold(command, |command, row| {
            command.subcommand(name_and_namespace(
                row,
                aliased(Command::new(row.cli_singular), row.singular).about(row.delete_help),
            ))
        })
    }

    fn augment_subcommands_for_update(command: Command) -> Command {
        Self::augment_subcommands(command)
    }

    fn has_subcommand(name: &str) -> bool {
        WORKLOAD_KINDS.iter().any(|row| row.cli_singular == name)
    }
}

impl FromArgMatches for WorkloadDescribe {
    fn from_arg_matches(matches: &ArgMatches) -> Result<Self, clap::Error> {
        let (kind, sub) = matched(matches, |row, name| row.cli_singular == name)?;
        let (name, namespace) = one(sub)?;
        // `describe service NS/NAME`, the form before `-n` was accepted, still works.
        let (namespace, name) = match name.split_once('/') {
            Some((ns, n)) if !kind.is_cluster_scoped() && !ns.is_empty() && !n.is_empty() => {
                (ns.to_string(), n.to_string())
            }
            _ => (namespace, name),
        };
        Ok(WorkloadDescribe {
            kind,
            name,
            namespace,
        })
    }

    fn update_from_arg_matches(&mut self, matches: &ArgMatches) -> Result<(), clap::Error> {
        *self = Self::from_arg_matches(matches)?;
        Ok(())
    }
}

impl Subcommand for WorkloadDescribe {
    fn augment_subcommands(command: Command) -> Command {
        WORKLOAD_KINDS.iter().fold(command, |command, row| {
            command.subcommand(name_and_namespace(
                row,
                aliased(Command::new(row.cli_singular), row.singular)
                    .about(format!("One {} in detail", row.kind)),
            ))
        })
    }

    fn augment_subcommands_for_update(command: Command) -> Command {
        Self::augment_subcommands(command)
    }

    fn has_subcommand(name: &str) -> bool {
        WORKLOAD_KINDS.iter().any(|row| row.cli_singular == name)
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use crate::args::{Command, CtlArgs, DeleteCommand, DescribeCommand, GetCommand};

    use super::*;

    fn parse(args: &[&str]) -> Command {
        CtlArgs::try_parse_from(std::iter::once("latticectl").chain(args.iter().copied()))
            .unwrap()
            .command
    }

    #[test]
    fn a_cluster_scoped_kind_takes_no_namespace() {
        let row = lattice_api::kinds::workload_kind("LatticeCluster").unwrap();
        let Command::Get {
            what:
                GetCommand::Workload(WorkloadGet::One {
                    kind,
                    name,
                    namespace,
                }),
            ..
        } = parse(&["get", "latticecluster", "edge-3"])
        else {
            panic!("get latticecluster NAME is not one LatticeCluster");
        };
        assert_eq!(
            (kind.kind, name.as_str(), namespace.as_str()),
            (row.kind, "edge-3", "")
        );
        let Command::Get {
            what: GetCommand::Workload(WorkloadGet::List { namespace, .. }),
            ..
        } = parse(&["get", "latticeclusters"])
        else {
            panic!("get latticeclusters is not a list");
        };
        assert_eq!(namespace, None);
        let Command::Delete {
            what:
                DeleteCommand::Workload(WorkloadDelete {
                    name, namespace, ..
                }),
        } = parse(&["delete", "latticecluster", "edge-3"])
        else {
            panic!("delete latticecluster NAME is not a delete");
        };
        assert_eq!((name.as_str(), namespace.as_str()), ("edge-3", ""));
        assert!(
            CtlArgs::try_parse_from(["latticectl", "delete", "latticecluster", "x", "-n", "a"])
                .is_err()
        );
    }

    #[test]
    fn every_kind_of_the_table_has_get_and_delete_verbs_with_aliases() {
        for row in WORKLOAD_KINDS.iter().filter(|r| !r.is_cluster_scoped()) {
            for list in [row.cli_plural, row.plural] {
                let Command::Get {
                    what: GetCommand::Workload(WorkloadGet::List { kind, namespace }),
                    ..
                } = parse(&["get", list, "-n", "shop"])
                else {
                    panic!("get {list} is not a list of {}", row.kind);
                };
                assert_eq!((kind.kind, namespace.as_deref()), (row.kind, Some("shop")));
            }
            for one in [row.cli_singular, row.singular] {
                let Command::Get {
                    what:
                        GetCommand::Workload(WorkloadGet::One {
                            kind,
                            name,
                            namespace,
                        }),
                    ..
                } = parse(&["get", one, "x"])
                else {
                    panic!("get {one} NAME is not one {}", row.kind);
                };
                assert_eq!(
                    (kind.kind, name.as_str(), namespace.as_str()),
                    (row.kind, "x", "default")
                );
                let Command::Delete {
                    what:
                        DeleteCommand::Workload(WorkloadDelete {
                            kind,
                            name,
                            namespace,
                        }),
                } = parse(&["delete", one, "x", "-n", "shop"])
                else {
                    panic!("delete {one} NAME is not a delete of {}", row.kind);
                };
                assert_eq!(
                    (kind.kind, name.as_str(), namespace.as_str()),
                    (row.kind, "x", "shop")
                );
            }
        }
    }

    #[test]
    fn every_kind_can_be_described_with_dash_n_or_namespace_slash_name() {
        for row in WORKLOAD_KINDS.iter().filter(|r| !r.is_cluster_scoped()) {
            for args in [
                ["describe", row.cli_singular, "x", "-n", "shop"].as_slice(),
                ["describe", row.singular, "shop/x"].as_slice(),
            ] {
                let Command::Describe {
                    what:
                        DescribeCommand::Workload(WorkloadDescribe {
                            kind,
                            name,
                            namespace,
                        }),
                } = parse(args)
                else {
                    panic!("{args:?} is not a describe of {}", row.kind);
                };
                assert_eq!(
                    (kind.kind, name.as_str(), namespace.as_str()),
                    (row.kind, "x", "shop")
                );
            }
        }
    }

    #[test]
    fn get_lists_without_a_name_and_shows_one_with_it_plural_or_singular() {
        let row = &WORKLOAD_KINDS[0];
        let Command::Get {
            what: GetCommand::Workload(WorkloadGet::List { namespace, .. }),
            ..
        } = parse(&["get", row.cli_singular])
        else {
            panic!("get {} is not a list", row.cli_singular);
        };
        assert_eq!(namespace, None);
        let Command::Get {
            what:
                GetCommand::Workload(WorkloadGet::One {
                    name, namespace, ..
                }),
            ..
        } = parse(&["get", row.cli_plural, "x", "-n", "shop"])
        else {
            panic!("get {} x is not one", row.cli_plural);
        };
        assert_eq!((name.as_str(), namespace.as_str()), ("x", "shop"));
    }

    #[test]
    fn a_missing_name_is_refused() {
        let row = &WORKLOAD_KINDS[0];
        let err = CtlArgs::try_parse_from(["latticectl", "delete", row.cli_singular]).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::MissingRequiredArgument);
    }
}
