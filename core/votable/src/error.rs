//! The one error type of the crate: what went wrong and where in the document.

/// Why a VOTable could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum VoTableError {
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
    #[error("malformed XML at byte {position}: {message}")]
    Xml { position: u64, message: String },
    #[error("not a VOTable: {0}")]
    NotVoTable(String),
    #[error("refused: {0}")]
    Refused(String),
    #[error("{element} {name:?}: {message}")]
    BadDefinition { element: &'static str, name: String, message: String },
    #[error("table {table}, row {row}, column {column:?}: {message}")]
    BadValue { table: usize, row: usize, column: String, message: String },
    #[error("table {table}: {message}")]
    BadStream { table: usize, message: String },
    #[error("unsupported: {0}")]
    Unsupported(String),
    #[error("arrow: {0}")]
    Arrow(#[from] arrow_schema::ArrowError),
}

pub type Result<T, E = VoTableError> = std::result::Result<T, E>;
