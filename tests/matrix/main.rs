//! The template's test harness: generates a project for every combination of the options
//! declared in `cargo-generate.toml` and proves each one is sound.
//!
//! - [`options`] reads the options; [`combinations`] enumerates the answers a user can give.
//! - [`generate`] runs the cargo-generate library on a staged copy of the template.
//! - [`refusals`]: answers the pre hook refuses, with the message a user sees.
//! - [`static_checks`]: every valid combination's files, without compiling.
//! - [`full_checks`]: build, clippy, rustfmt and tests through [`cargo`], one command at a
//!   time in one shared target directory.
//! - [`docker`]: the Dockerfile and compose.yaml, and the builder's steps run for real.
//! - [`liquid`]: Liquid in the template's Rust sources stays at item level.
//! - [`lock`]: the shipped `Cargo.lock` is current, and generated projects keep to it.
//! - [`prometheus`]: `promtool` and a real Prometheus read a generated service's metrics.
//! - [`postgres`]: PostgreSQL's programs, and a throwaway server for a generated service.
//! - [`growing`]: the README's "Growing the service", applied as written, builds and works.
//!
//! Run it with `ci/test` (or `cargo test --locked` here); `cargo test -- static` or
//! `cargo test -- everything_on` narrows it down.

mod cargo;
mod combinations;
mod docker;
mod full_checks;
mod generate;
mod growing;
mod liquid;
mod lock;
mod options;
mod postgres;
mod prometheus;
mod refusals;
mod static_checks;
