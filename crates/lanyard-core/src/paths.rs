//! Where Lanyard keeps its non-secret state (the one place that knows).
