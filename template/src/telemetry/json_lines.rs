//! JSON log lines, one object per line: `timestamp`, `level`, the event's fields
//! (`message` first), `target`, and the current span's fields under `span`.
//!
//! tracing-subscriber's own JSON format parses every span's fields back from text for
//! each line it writes; at one line per request that halved a fast endpoint's
//! throughput. Here a span's fields are written as JSON once, when the span opens
//! ([`JsonFields`]), and copied into each line as they are ([`JsonLines`]).

use std::fmt::{self, Write as _};

use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::field::RecordFields;
use tracing_subscriber::fmt::format::{FormatEvent, FormatFields, Writer};
use tracing_subscriber::fmt::time::{FormatTime, SystemTime};
use tracing_subscriber::fmt::{FmtContext, FormattedFields};
use tracing_subscriber::registry::LookupSpan;

/// Formats an event as one JSON object and a newline.
pub struct JsonLines;

impl<S, N> FormatEvent<S, N> for JsonLines
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        writer.write_str("{\"timestamp\":\"")?;
        SystemTime.format_time(&mut writer)?;
        write!(writer, "\",\"level\":\"{}\",", event.metadata().level())?;
        let mut fields = FieldWriter::new(&mut writer);
        event.record(&mut fields);
        let log_target = fields.finish()?;
        writer.write_str("\"target\":")?;
        // Events from the `log` crate name their real target in a field.
        let target = log_target.as_deref().unwrap_or(event.metadata().target());
        write_string(&mut writer, target)?;
        if let Some(span) = ctx.lookup_current() {
            writer.write_str(",\"span\":{")?;
            if let Some(fields) = span.extensions().get::<FormattedFields<N>>() {
                writer.write_str(fields)?;
            }
            writer.write_str("\"name\":")?;
            write_string(&mut writer, span.name())?;
            writer.write_char('}')?;
        }
        writer.write_str("}\n")
    }
}

/// A line like [`JsonLines`] writes for an `ERROR` event with only a message.
pub(super) fn error_line(message: &str, target: &str) -> String {
    let mut line = String::from("{\"timestamp\":\"");
    // Writing into a String cannot fail; `let _` keeps the signature infallible.
    let _ = SystemTime.format_time(&mut Writer::new(&mut line));
    line.push_str("\",\"level\":\"ERROR\",\"message\":");
    let _ = write_string(&mut line, message);
    line.push_str(",\"target\":");
    let _ = write_string(&mut line, target);
    line.push('}');
    line
}

/// Formats a span's fields as `"name":value,` pairs, kept with the span.
pub struct JsonFields;

impl<'writer> FormatFields<'writer> for JsonFields {
    fn format_fields<R: RecordFields>(
        &self,
        mut writer: Writer<'writer>,
        fields: R,
    ) -> fmt::Result {
        let mut visitor = FieldWriter::new(&mut writer);
        fields.record(&mut visitor);
        visitor.finish().map(drop)
    }

    fn add_fields(
        &self,
        current: &'writer mut FormattedFields<Self>,
        fields: &tracing::span::Record<'_>,
    ) -> fmt::Result {
        // Pairs end with a comma, so fields recorded later are simply appended.
        self.format_fields(current.as_writer(), fields)
    }
}

/// Writes each field as `"name":value,`; remembers the first error, since `Visit`
/// methods cannot return one.
struct FieldWriter<'a, W> {
    writer: &'a mut W,
    result: fmt::Result,
    /// `log.target` of an event that came from the `log` crate.
    log_target: Option<String>,
}

impl<'a, W: fmt::Write> FieldWriter<'a, W> {
    fn new(writer: &'a mut W) -> Self {
        Self {
            writer,
            result: Ok(()),
            log_target: None,
        }
    }

    fn finish(self) -> Result<Option<String>, fmt::Error> {
        self.result.map(|()| self.log_target)
    }

    /// Writes `"name":` then the value with `value`, unless the field is `log`'s.
    fn pair(&mut self, field: &Field, value: impl FnOnce(&mut W) -> fmt::Result) {
        if self.result.is_err() || field.name().starts_with("log.") {
            return;
        }
        self.result = write_string(self.writer, field.name())
            .and_then(|()| self.writer.write_char(':'))
            .and_then(|()| value(self.writer))
            .and_then(|()| self.writer.write_char(','));
    }
}

impl<W: fmt::Write> Visit for FieldWriter<'_, W> {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "log.target" {
            self.log_target = Some(value.to_owned());
        }
        self.pair(field, |writer| write_string(writer, value));
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.pair(field, |writer| {
            writer.write_char('"')?;
            write!(Escaped(writer), "{value:?}")?;
            writer.write_char('"')
        });
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.pair(field, |writer| {
            writer.write_char('"')?;
            write!(Escaped(writer), "{value}")?;
            writer.write_char('"')
        });
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.pair(field, |writer| write!(writer, "{value}"));
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.pair(field, |writer| write!(writer, "{value}"));
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.pair(field, |writer| write!(writer, "{value}"));
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        // JSON has no NaN or infinity: those are written as strings.
        self.pair(field, |writer| {
            if value.is_finite() {
                write!(writer, "{value}")
            } else {
                write!(writer, "\"{value}\"")
            }
        });
    }
}

/// Writes `text` as a JSON string.
fn write_string(writer: &mut impl fmt::Write, text: &str) -> fmt::Result {
    writer.write_char('"')?;
    Escaped(writer).write_str(text)?;
    writer.write_char('"')
}

/// Escapes what passes through it for the inside of a JSON string.
struct Escaped<'a, W>(&'a mut W);

impl<W: fmt::Write> fmt::Write for Escaped<'_, W> {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        // Bytes, not chars: everything escaped is ASCII, so each escape sits on a char
        // boundary, and most text is copied in one piece without decoding UTF-8.
        let mut plain = 0;
        for (index, &byte) in text.as_bytes().iter().enumerate() {
            let escape = match byte {
                b'"' => "\\\"",
                b'\\' => "\\\\",
                b'\n' => "\\n",
                b'\r' => "\\r",
                b'\t' => "\\t",
                0..=0x1f => "",
                _ => continue,
            };
            self.0.write_str(&text[plain..index])?;
            if escape.is_empty() {
                write!(self.0, "\\u{byte:04x}")?;
            } else {
                self.0.write_str(escape)?;
            }
            plain = index + 1;
        }
        self.0.write_str(&text[plain..])
    }
}

#[cfg(test)]
mod tests {
    use super::{JsonFields, JsonLines, write_string};
    use crate::telemetry::CapturedLogs;

    #[test]
    fn strings_are_escaped_for_json() {
        let mut out = String::new();
        write_string(&mut out, "a \"quote\", a \\ and\n\u{1b}[31m").unwrap();
        let back: String = serde_json::from_str(&out).unwrap();
        assert_eq!(back, "a \"quote\", a \\ and\n\u{1b}[31m");
    }

    #[test]
    fn each_line_is_one_object_with_each_field_once() {
        let logs = CapturedLogs::default();
        let writer = logs.clone();
        let subscriber = tracing_subscriber::fmt()
            .fmt_fields(JsonFields)
            .event_format(JsonLines)
            .with_writer(move || writer.clone())
            .finish();
        tracing::subscriber::with_default(subscriber, || {
            let span = tracing::info_span!("request", request_id = "r-1", path = "/a\"b");
            let _entered = span.enter();
            tracing::warn!(
                status = 503_u16,
                elapsed_ms = 0.25,
                ok = false,
                "probe \"failed\""
            );
        });
        let text = logs.text();
        let line: serde_json::Value = serde_json::from_str(text.trim_end()).expect(&text);
        assert_eq!(line["level"], "WARN");
        assert_eq!(line["message"], "probe \"failed\"");
        assert_eq!(
            (line["status"].as_u64(), line["elapsed_ms"].as_f64()),
            (Some(503), Some(0.25))
        );
        assert_eq!(line["ok"], false);
        assert_eq!(line["span"]["request_id"], "r-1");
        assert_eq!(line["span"]["path"], "/a\"b");
        assert_eq!(line["span"]["name"], "request");
        assert!(
            line["timestamp"].as_str().is_some_and(|t| t.ends_with('Z')),
            "{text}"
        );
        assert_eq!(text.matches("r-1").count(), 1, "{text}");
        assert!(text.ends_with("}\n") && text.lines().count() == 1, "{text}");
    }
}
