//! What a call to the server can end in, for both doors (HTTP and socket): the error answer as
//! the harness sees it, and the ways a call can fail.

use crate::stats::Outcome;

/// An error answer: the contract's code (kept as text, so a code this build does not know
/// still reads) and its HTTP status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorView {
    pub code: String,
    pub status: u16,
}

impl ErrorView {
    /// Server faults count against the error budget; domain refusals do not.
    pub fn is_server_fault(&self) -> bool {
        self.status >= 500 || matches!(self.code.as_str(), "SERVICE_UNAVAILABLE" | "INTERNAL")
    }
}

/// Why a call gave no success.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallError {
    #[error("refused: {} ({})", .0.code, .0.status)]
    Rejected(ErrorView),
    #[error("server fault: {} ({})", .0.code, .0.status)]
    Server(ErrorView),
    #[error("no answer within the timeout")]
    Timeout,
    #[error("connection failed: {0}")]
    Transport(String),
    #[error("the run's request budget is spent or the run is stopping")]
    Stopped,
    #[error("answer of an unexpected shape: {0}")]
    Shape(String),
}

impl CallError {
    /// Sorts an error answer into a refusal or a fault.
    pub fn from_answer(error: ErrorView) -> Self {
        if error.is_server_fault() { Self::Server(error) } else { Self::Rejected(error) }
    }

    /// The outcome to record, or `None` for a call that was never sent.
    pub fn outcome(&self) -> Option<Outcome> {
        match self {
            Self::Rejected(_) => Some(Outcome::Rejected),
            Self::Server(_) | Self::Timeout | Self::Transport(_) | Self::Shape(_) => Some(Outcome::Failed),
            Self::Stopped => None,
        }
    }

    /// The contract code of an error answer.
    pub fn code(&self) -> Option<&str> {
        match self {
            Self::Rejected(error) | Self::Server(error) => Some(&error.code),
            _ => None,
        }
    }

    /// Whether this is the error answer `code`.
    pub fn is(&self, code: &str) -> bool {
        self.code() == Some(code)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view(code: &str, status: u16) -> ErrorView {
        ErrorView { code: code.into(), status }
    }

    #[test]
    fn sorts_refusals_from_faults() {
        assert_eq!(CallError::from_answer(view("INSUFFICIENT_FUNDS", 409)).outcome(), Some(Outcome::Rejected));
        assert_eq!(CallError::from_answer(view("SERVICE_UNAVAILABLE", 503)).outcome(), Some(Outcome::Failed));
        // A fault reported with an odd status still counts as a fault.
        assert_eq!(CallError::from_answer(view("INTERNAL", 0)).outcome(), Some(Outcome::Failed));
        assert_eq!(CallError::Timeout.outcome(), Some(Outcome::Failed));
        assert_eq!(CallError::Stopped.outcome(), None);
    }

    #[test]
    fn names_codes() {
        let error = CallError::from_answer(view("ALREADY_UNLOCKED", 409));
        assert!(error.is("ALREADY_UNLOCKED"));
        assert!(!CallError::Timeout.is("ALREADY_UNLOCKED"));
    }
}
