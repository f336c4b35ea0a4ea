//! What every stage does with URLs: one spelling per page, and no password shown.

pub mod normalize;
pub mod redact;
