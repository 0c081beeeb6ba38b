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

fn namespace_filter() -> Arg {
    Arg::new("namespace")
        .short('n')
        .long("namespace")
        .help("Only this namespace.")
}

fn name_and_namespace(command: Command) -> Command {
    command
        .arg(Arg::new("name").required(true).help("Name."))
        .arg(
            Arg::new("namespace")
                .short('n')
                .long("namespace")
                .default_value("default")
                .help("Namespace."),
        )
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

/// `name` (required) and `namespace` (defaulted) of a matched subcommand.
fn one(matches: &ArgMatches) -> Result<(String, String), clap::Error> {
    let name = string(matches, "name")
        .ok_or_else(|| clap::Error::new(ErrorKind::MissingRequiredArgument))?;
    Ok((name, string(matches, "namespace").unwrap_or_default()))
}

impl FromArgMatches for WorkloadGet {
    fn from_arg_matches(matches: &ArgMatches) -> Result<Self, clap::Error> {
        let (row, sub) = matched(matches, |row, name| {
            row.cli_plural == name || row.cli_singular == name
        })?;
        if matches.subcommand_name() == Some(row.cli_plural) {
            return Ok(WorkloadGet::List {
                kind: row,
                namespace: string(sub, "namespace"),
            });
        }
        let (name, namespace) = one(sub)?;
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
            command
                .subcommand(
                    Command::new(row.cli_plural)
                        .alias(row.plural)
                        .about(format!("All {}s (optionally in one namespace)", row.kind))
                        .arg(namespace_filter()),
                )
                .subcommand(name_and_namespace(
                    Command::new(row.cli_singular)
                        .alias(row.singular)
                        .about(format!("One {} with its status", row.kind)),
                ))
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
                Command::new(row.cli_singular)
                    .alias(row.singular)
                    .about(row.delete_help),
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

    use crate::args::{Command, CtlArgs, DeleteCommand, GetCommand};

    use super::*;

    fn parse(args: &[&str]) -> Command {
        CtlArgs::try_parse_from(std::iter::once("latticectl").chain(args.iter().copied()))
            .unwrap()
            .command
    }

    #[test]
    fn every_kind_of_the_table_has_get_and_delete_verbs_with_aliases() {
        for row in WORKLOAD_KINDS {
            for list in [row.cli_plural, row.plural] {
                let Command::Get {
                    what: GetCommand::Workload(WorkloadGet::List { kind, namespace }),
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
    fn a_missing_name_is_refused() {
        let row = &WORKLOAD_KINDS[0];
        let err = CtlArgs::try_parse_from(["latticectl", "delete", row.cli_singular]).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::MissingRequiredArgument);
    }
}
