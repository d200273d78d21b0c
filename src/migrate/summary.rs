//! What a migration did, per kind of record, and how it is printed.
//!
//! Invariant: every record read is counted exactly once as copied, already
//! present, conflicting or invalid (or, for post claims in flight, named in
//! a note), so the columns add up to what was read.

use std::fmt;
use std::time::Duration;

use crate::storage::Imported;

/// How many messages of one sort are printed before "… and N more".
const SHOWN: usize = 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    Posts,
    Mentions,
    BlockedDomains,
    HiddenReplies,
    HiddenAccounts,
    Threads,
    /// Another receiver's status ids, kept as aliases of mentions.
    StatusIds,
}

impl Kind {
    pub fn label(self) -> &'static str {
        match self {
            Self::Posts => "posts",
            Self::Mentions => "mentions",
            Self::BlockedDomains => "blocked domains",
            Self::HiddenReplies => "hidden replies",
            Self::HiddenAccounts => "hidden accounts",
            Self::Threads => "cached threads",
            Self::StatusIds => "status ids",
        }
    }
}

/// The counts of one kind of record.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Tally {
    pub read: u64,
    pub copied: u64,
    /// Already in the destination: nothing written.
    pub present: u64,
    /// The destination holds something else under the same key, and keeps it.
    pub conflicts: u64,
    /// Unreadable or incomplete in the source: skipped.
    pub invalid: u64,
}

#[derive(Debug, Clone)]
pub struct Summary {
    pub from: String,
    pub to: String,
    pub dry_run: bool,
    tallies: Vec<(Kind, Tally)>,
    pub conflicts: Vec<String>,
    pub invalid: Vec<String>,
    pub notes: Vec<String>,
    pub elapsed: Duration,
}

impl Summary {
    pub fn new(from: String, to: String, dry_run: bool) -> Self {
        Self {
            from,
            to,
            dry_run,
            tallies: Vec::new(),
            conflicts: Vec::new(),
            invalid: Vec::new(),
            notes: Vec::new(),
            elapsed: Duration::ZERO,
        }
    }

    /// The counts of `kind` (all zero when none was read).
    pub fn tally(&self, kind: Kind) -> Tally {
        self.tallies
            .iter()
            .find(|(k, _)| *k == kind)
            .map(|(_, t)| *t)
            .unwrap_or_default()
    }

    fn entry(&mut self, kind: Kind) -> &mut Tally {
        let at = match self.tallies.iter().position(|(k, _)| *k == kind) {
            Some(at) => at,
            None => {
                self.tallies.push((kind, Tally::default()));
                self.tallies.sort_by_key(|(k, _)| *k);
                self.tallies
                    .iter()
                    .position(|(k, _)| *k == kind)
                    .unwrap_or(0)
            }
        };
        &mut self.tallies[at].1
    }

    /// Makes `kind` show in the table even when nothing of it is read.
    pub fn include(&mut self, kind: Kind) {
        self.entry(kind);
    }

    pub fn read(&mut self, kind: Kind, count: u64) {
        self.entry(kind).read += count;
    }

    /// Counts one imported record; `what` names it for a conflict message.
    pub fn outcome(&mut self, kind: Kind, outcome: &Imported, what: impl FnOnce() -> String) {
        let tally = self.entry(kind);
        match outcome {
            Imported::Copied => tally.copied += 1,
            Imported::Present => tally.present += 1,
            Imported::Conflict { kept } => {
                tally.conflicts += 1;
                let message = format!("{}: the destination keeps {kept}", what());
                self.conflicts.push(message);
            }
        }
    }

    /// Counts one record that was read but cannot be imported.
    pub fn invalid(&mut self, kind: Kind, message: String) {
        self.entry(kind).invalid += 1;
        self.invalid.push(message);
    }

    pub fn note(&mut self, message: String) {
        self.notes.push(message);
    }

    pub fn total(&self) -> Tally {
        self.tallies
            .iter()
            .fold(Tally::default(), |sum, (_, t)| Tally {
                read: sum.read + t.read,
                copied: sum.copied + t.copied,
                present: sum.present + t.present,
                conflicts: sum.conflicts + t.conflicts,
                invalid: sum.invalid + t.invalid,
            })
    }

    /// Records read per second.
    pub fn rate(&self) -> f64 {
        let seconds = self.elapsed.as_secs_f64();
        if seconds > 0.0 {
            self.total().read as f64 / seconds
        } else {
            0.0
        }
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.dry_run {
            writeln!(
                f,
                "dry run from {} to {}: nothing was written; \"copied\" counts what would be",
                self.from, self.to
            )?;
        } else {
            writeln!(f, "migrated from {} to {}", self.from, self.to)?;
        }
        writeln!(
            f,
            "{:<16} {:>9} {:>9} {:>9} {:>9} {:>9}",
            "", "read", "copied", "present", "conflicts", "invalid"
        )?;
        for (kind, t) in &self.tallies {
            writeln!(
                f,
                "{:<16} {:>9} {:>9} {:>9} {:>9} {:>9}",
                kind.label(),
                t.read,
                t.copied,
                t.present,
                t.conflicts,
                t.invalid
            )?;
        }
        list(
            f,
            "conflicts (the destination's record stays)",
            &self.conflicts,
        )?;
        list(f, "invalid (skipped)", &self.invalid)?;
        list(f, "notes", &self.notes)?;
        let total = self.total();
        writeln!(
            f,
            "{} records read in {:.2} s ({:.0} records/s): {} copied, {} already present, {} conflicting, {} invalid",
            total.read,
            self.elapsed.as_secs_f64(),
            self.rate(),
            total.copied,
            total.present,
            total.conflicts,
            total.invalid
        )
    }
}

fn list(f: &mut fmt::Formatter<'_>, heading: &str, lines: &[String]) -> fmt::Result {
    if lines.is_empty() {
        return Ok(());
    }
    writeln!(f, "{heading}:")?;
    for line in lines.iter().take(SHOWN) {
        writeln!(f, "  {line}")?;
    }
    if lines.len() > SHOWN {
        writeln!(f, "  … and {} more", lines.len() - SHOWN)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_add_up_per_kind_and_in_total() {
        let mut summary = Summary::new("a".into(), "b".into(), false);
        summary.read(Kind::Mentions, 3);
        summary.read(Kind::Posts, 2);
        summary.outcome(Kind::Posts, &Imported::Copied, String::new);
        summary.outcome(
            Kind::Posts,
            &Imported::Conflict {
                kept: "toot 1".into(),
            },
            || "https://blog.example/p".into(),
        );
        summary.outcome(Kind::Mentions, &Imported::Present, String::new);
        summary.invalid(Kind::Mentions, "entry 2: no wm-source".into());
        assert_eq!(
            summary.tally(Kind::Posts),
            Tally {
                read: 2,
                copied: 1,
                conflicts: 1,
                ..Tally::default()
            }
        );
        assert_eq!(summary.total().read, 5);
        let text = summary.to_string();
        assert!(
            text.find("posts").unwrap() < text.find("mentions").unwrap(),
            "kinds in a fixed order: {text}"
        );
        assert!(text.contains("https://blog.example/p: the destination keeps toot 1"));
        assert!(text.contains("entry 2: no wm-source"));
    }
}
