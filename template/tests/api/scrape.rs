//! Scraping `/metrics` over a real socket, and reading the Prometheus text format back.
//!
//! [`Scrape::parse`] checks every line as it reads it (a malformed one fails the test),
//! so a scrape that parses here is one Prometheus can read; the template's own CI also
//! runs `promtool check metrics` and a real Prometheus against a generated service.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// One sample: metric name, labels, value.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// The series name (`http_requests_total`, `…_bucket`).
    pub name: String,
    /// Its labels.
    pub labels: BTreeMap<String, String>,
    /// Its value.
    pub value: f64,
}

/// Every sample of one scrape.
#[derive(Debug)]
pub struct Scrape {
    /// In the order served.
    pub samples: Vec<Sample>,
    /// `# TYPE` of each family.
    pub types: BTreeMap<String, String>,
}

/// `GET /metrics` on `address` with a plain HTTP/1.1 request; panics unless it is a 200
/// whose body parses.
pub fn scrape(address: SocketAddr) -> Scrape {
    let mut stream = TcpStream::connect_timeout(&address, Duration::from_secs(5)).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("set a read timeout");
    write!(
        stream,
        "GET /metrics HTTP/1.1\r\nhost: {address}\r\nconnection: close\r\n\r\n"
    )
    .expect("send the request");
    let mut raw = String::new();
    stream.read_to_string(&mut raw).expect("read the response");
    let (head, body) = raw.split_once("\r\n\r\n").expect("a complete response");
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(
        head.to_ascii_lowercase()
            .contains("content-type: text/plain; version=0.0.4"),
        "{head}"
    );
    Scrape::parse(body)
}

impl Scrape {
    /// Parses the text format, panicking with the line at the first malformed one.
    pub fn parse(text: &str) -> Self {
        let mut samples = Vec::new();
        let mut types = BTreeMap::new();
        for line in text.lines().filter(|line| !line.is_empty()) {
            if let Some(comment) = line.strip_prefix("# ") {
                let mut words = comment.splitn(3, ' ');
                let (kind, name, rest) = (words.next(), words.next(), words.next());
                let name = name.unwrap_or_default();
                assert!(is_name(name), "bad metric name in {line:?}");
                match kind {
                    Some("HELP") => assert!(rest.is_some_and(|help| !help.is_empty()), "{line:?}"),
                    Some("TYPE") => {
                        let kind = rest.unwrap_or_default();
                        assert!(
                            ["counter", "gauge", "histogram", "summary", "untyped"].contains(&kind),
                            "unknown type in {line:?}"
                        );
                        types.insert(name.to_owned(), kind.to_owned());
                    }
                    _ => panic!("unexpected comment {line:?}"),
                }
                continue;
            }
            samples.push(parse_sample(line));
        }
        for sample in &samples {
            let family = ["_bucket", "_sum", "_count"]
                .iter()
                .find_map(|suffix| sample.name.strip_suffix(suffix))
                .filter(|family| types.get(*family).is_some_and(|kind| kind == "histogram"))
                .unwrap_or(&sample.name);
            assert!(types.contains_key(family), "{} has no # TYPE", sample.name);
        }
        Self { samples, types }
    }

    /// The value of the series `name` whose labels include `labels`; `None` if there is
    /// none, panicking if there are several.
    pub fn value(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        let found: Vec<&Sample> = self.matching(name, labels).collect();
        assert!(
            found.len() <= 1,
            "several {name} series match {labels:?}: {found:?}"
        );
        found.first().map(|sample| sample.value)
    }

    /// Like [`Scrape::value`], with a missing series read as 0 (a counter not yet used).
    pub fn count(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.value(name, labels).unwrap_or(0.0)
    }

    /// Every value the label `label` takes on the series `name`.
    pub fn label_values(&self, name: &str, label: &str) -> BTreeSet<String> {
        self.matching(name, &[])
            .filter_map(|sample| sample.labels.get(label).cloned())
            .collect()
    }

    fn matching<'a>(
        &'a self,
        name: &'a str,
        labels: &'a [(&str, &str)],
    ) -> impl Iterator<Item = &'a Sample> + 'a {
        self.samples.iter().filter(move |sample| {
            sample.name == name
                && labels
                    .iter()
                    .all(|(key, value)| sample.labels.get(*key).map(String::as_str) == Some(*value))
        })
    }
}

fn is_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

/// `name{key="value",...} value` or `name value`.
fn parse_sample(line: &str) -> Sample {
    let end = line
        .find(['{', ' '])
        .unwrap_or_else(|| panic!("no value in {line:?}"));
    let name = &line[..end];
    assert!(is_name(name), "bad metric name in {line:?}");
    let mut labels = BTreeMap::new();
    let mut rest = &line[end..];
    if let Some(mut inner) = rest.strip_prefix('{') {
        loop {
            if let Some(after) = inner.strip_prefix('}') {
                rest = after;
                break;
            }
            let (key, after_key) = inner
                .split_once("=\"")
                .unwrap_or_else(|| panic!("bad labels in {line:?}"));
            assert!(is_name(key), "bad label name in {line:?}");
            let mut value = String::new();
            let mut chars = after_key.char_indices();
            let after_value = loop {
                match chars.next() {
                    Some((_, '\\')) => match chars.next() {
                        Some((_, 'n')) => value.push('\n'),
                        Some((_, c @ ('\\' | '"'))) => value.push(c),
                        _ => panic!("bad escape in {line:?}"),
                    },
                    Some((at, '"')) => break &after_key[at + 1..],
                    Some((_, c)) => value.push(c),
                    None => panic!("unterminated label value in {line:?}"),
                }
            };
            assert!(
                labels.insert(key.to_owned(), value).is_none(),
                "label {key} twice in {line:?}"
            );
            inner = match after_value.strip_prefix(',') {
                Some(next) => next,
                None if after_value.starts_with('}') => after_value,
                None => panic!("bad labels in {line:?}"),
            };
        }
    }
    let value = rest
        .strip_prefix(' ')
        .and_then(parse_value)
        .unwrap_or_else(|| panic!("bad value in {line:?}"));
    Sample {
        name: name.to_owned(),
        labels,
        value,
    }
}

fn parse_value(text: &str) -> Option<f64> {
    match text {
        "+Inf" => Some(f64::INFINITY),
        "-Inf" => Some(f64::NEG_INFINITY),
        "NaN" => Some(f64::NAN),
        _ => text.parse().ok(),
    }
}

#[test]
fn the_parser_reads_labels_escapes_and_special_values() {
    let scrape = Scrape::parse(concat!(
        "# HELP demo_total A demo.\n",
        "# TYPE demo_total counter\n",
        "demo_total{a=\"x,y\",b=\"say \\\"hi\\\"\"} 3\n",
        "# TYPE d histogram\n",
        "d_bucket{le=\"+Inf\"} 2\n",
        "d_sum 0.5\n",
        "d_count 2\n",
    ));
    assert_eq!(scrape.value("demo_total", &[("a", "x,y")]), Some(3.0));
    assert_eq!(
        scrape.label_values("demo_total", "b"),
        ["say \"hi\"".to_owned()].into()
    );
    assert_eq!(scrape.value("d_bucket", &[("le", "+Inf")]), Some(2.0));
    assert_eq!(scrape.count("d_count", &[]), 2.0);
}

#[test]
#[should_panic(expected = "bad labels")]
fn the_parser_refuses_a_broken_line() {
    Scrape::parse("# TYPE demo counter\ndemo{a=\"1\" b=\"2\"} 1\n");
}
