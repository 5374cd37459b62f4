//! Operations: what a command does, validated and orchestrated once, returning values both faces
//! (the CLI today, the HTTP API next) print as text or as the same JSON.

pub mod bounces;
