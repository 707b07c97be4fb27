//! Orchestration (placeholder while being written).
