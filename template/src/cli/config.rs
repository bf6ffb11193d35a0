//! `config check`: validates the environment the way start-up does, then prints the
//! effective settings, secrets redacted.
//!
//! Invalid settings never reach this command: start-up reports each invalid variable on
//! its own line and exits 78, which is exactly what a check should say. Reaching `run`
//! means every value is valid, so it prints them.

use std::process::ExitCode;

use crate::context::AppContext;
use crate::settings::Settings;

/// Configuration commands.
#[derive(Debug, clap::Subcommand)]
pub enum ConfigCommand {
    /// Validate every variable and print the effective settings (secrets redacted).
    #[command(
        long_about = "Validate every variable and print the effective settings.\n\n\
        Reads the environment (and .env, if present) exactly as start-up does. When every \
        value is valid, prints the settings in .env form on stdout, with passwords \
        replaced by [redacted], and exits 0. Otherwise prints one line per invalid \
        variable on stderr and exits 78."
    )]
    Check,
}

impl ConfigCommand {
    /// Runs the command and returns the exit code.
    ///
    /// # Errors
    /// Never; the signature is the one every command has.
    pub async fn run(self, context: AppContext) -> anyhow::Result<ExitCode> {
        match self {
            Self::Check => print!("{}", render(&context.settings)),
        }
        Ok(ExitCode::SUCCESS)
    }
}

/// The settings as `.env` lines, grouped like `.env.example`; unset variables are
/// comments.
fn render(settings: &Settings) -> String {
    let mut out = EnvText(String::new());
    out.note("The configuration is valid. Effective settings:");
    let from_preset = settings.from_preset();
    for (title, vars) in settings.vars() {
        out.section(title);
        for (name, value) in vars {
            if let Some((_, preset)) = from_preset
                .iter()
                .find(|(preset_var, _)| *preset_var == name)
            {
                out.note(&format!("from {preset}:"));
            }
            match value {
                Some(value) => out.var(name, &value),
                None => out.note(&format!("{name} is unset")),
            }
        }
    }
    out.0
}

/// Text in `.env` form: `NAME=value` lines under `#` comments.
struct EnvText(String);

impl EnvText {
    fn section(&mut self, title: &str) {
        self.0.push_str(&format!("\n# {title}\n"));
    }

    fn var(&mut self, name: &str, value: &str) {
        self.0.push_str(&format!("{name}={value}\n"));
    }

    fn note(&mut self, text: &str) {
        self.0.push_str(&format!("# {text}\n"));
    }
}

#[cfg(test)]
mod tests {
    use crate::settings::Settings;

    use super::render;

    fn settings(vars: &[(&str, &str)]) -> Settings {
        Settings::from_vars(vars.iter().copied()).expect("valid settings")
    }

    #[test]
    fn every_line_is_a_variable_or_a_comment() {
        let text = render(&settings(&[("LOG_FORMAT", "json")]));
        assert!(text.contains("\nLOG_FORMAT=json\n"), "{text}");
        assert!(text.contains("\n# RUST_LOG is unset\n"), "{text}");
        for line in text.lines().filter(|line| !line.is_empty()) {
            let is_assignment = line.split_once('=').is_some_and(|(name, _)| {
                name.chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
            });
            assert!(line.starts_with('#') || is_assignment, "{line}");
        }
    }
{%- if redis %}

    #[test]
    fn redis_settings_show_as_given_with_the_password_redacted() {
        let text = render(&settings(&[
            ("CACHE_REDIS_HOST", "cache.internal"),
            ("CACHE_REDIS_PASSWORD", "s3cret:pw"),
            ("CACHE_REDIS_DB", "3"),
        ]));
        assert!(!text.contains("s3cret"), "{text}");
        for line in [
            "CACHE_REDIS_HOST=cache.internal",
            "CACHE_REDIS_PORT=6379",
            "CACHE_REDIS_DB=3",
            "CACHE_REDIS_PASSWORD=[redacted]",
            "CACHE_REDIS_TIMEOUT_MS=500",
        ] {
            assert!(
                text.contains(&format!("\n{line}\n")),
                "{line} missing from: {text}"
            );
        }

        let text = render(&settings(&[(
            "CACHE_REDIS_URL",
            "rediss://alice:pw@h:6380/1",
        )]));
        assert!(
            text.contains("\nCACHE_REDIS_URL=rediss://alice:[redacted]@h:6380/1\n"),
            "{text}"
        );
    }
{%- endif %}
{%- if cache %}

    #[test]
    fn values_from_a_preset_are_marked_and_set_ones_are_not() {
        let text = render(&settings(&[
            ("CACHE_PRESET", "minimal"),
            ("CACHE_DEFAULT_TTL", "5"),
        ]));
        assert!(text.contains("\nCACHE_PRESET=minimal\n"), "{text}");
        assert!(
            text.contains("\n# from CACHE_PRESET=minimal:\nCACHE_PERSISTENT_TTL=300\n"),
            "{text}"
        );
        assert!(text.contains("\nCACHE_DEFAULT_TTL=5\n"), "{text}");
        assert!(!text.contains("minimal:\nCACHE_DEFAULT_TTL"), "{text}");
    }
{%- endif %}
}
