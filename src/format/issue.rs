//! Problems found in a small, whole file (transaction index, producer
//! snapshot, text checkpoint): unlike a [`crate::DecodeError`] they do not
//! stop the parse, so a parser returns what it could read and a list of
//! these beside it.

use std::fmt;

use crate::format::error::DecodeError;
use crate::format::problem::ProblemKind;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Issue {
    /// What kind of problem it is.
    pub kind: ProblemKind,
    /// Byte position in the file where the problem is (for a text file, the
    /// start of the line).
    pub position: u64,
    /// 1-based line number, for text files.
    pub line: Option<u64>,
    pub message: String,
}

impl Issue {
    pub fn at(kind: ProblemKind, position: u64, message: impl Into<String>) -> Self {
        Issue { kind, position, line: None, message: message.into() }
    }

    pub fn on_line(kind: ProblemKind, position: u64, line: u64, message: impl Into<String>) -> Self {
        Issue { kind, position, line: Some(line), message: message.into() }
    }

    /// A read that ran past the end of the data, as an issue of `kind`.
    pub fn from_decode(kind: ProblemKind, e: &DecodeError) -> Self {
        Issue::at(kind, e.position, e.kind.to_string())
    }
}

impl fmt::Display for Issue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "line {line}: {}", self.message),
            None => write!(f, "at byte {}: {}", self.position, self.message),
        }
    }
}
