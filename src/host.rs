//! What each host asks of a crawler: its robots.txt, and its pace.

pub mod polite;
pub mod robots;
