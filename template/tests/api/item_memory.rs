//! The example resource under a client that writes as much as it may, against the real
//! `web` process: oversized fields are refused by name, and the process's peak memory
//! stays bounded while the largest listing is answered to several clients at once.

use std::time::Duration;

use actix_web::web::Bytes;
use reqwest::StatusCode;
use serde_json::{Value, json};

use {{crate_name}}::items::MAX_DESCRIPTION_CHARS;
use {{crate_name}}::items::MAX_NAME_CHARS;

use crate::web::start_web;

/// How many items the client writes, each as large as the body limit allows.
const WRITES: u64 = 4_000;
/// `APP_BODY_LIMIT_BYTES`' default.
const BODY_LIMIT: usize = 262_144;
/// Warnings, and the line that gives the port: 8,000 request lines are not the point.
const QUIET: &str = "warn,{{crate_name}}::web::application=info";
/// The peak resident memory allowed to the process (`VmHWM`). Keeping every write
/// would take over 1 GiB; the bounded store holds under 10 MB, each listing is as
/// large again, and the rest is the binary, the caches and the runtime.
const PEAK_BOUND_MIB: u64 = 256;

/// The process's peak resident memory so far, in MiB, from `/proc/<pid>/status`.
fn peak_rss_mib(pid: u32) -> u64 {
    let status =
        std::fs::read_to_string(format!("/proc/{pid}/status")).expect("read /proc/PID/status");
    let kib: u64 = status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|value| value.split_whitespace().next())
        .and_then(|kib| kib.parse().ok())
        .expect("a VmHWM line");
    kib / 1024
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn maximal_writes_and_concurrent_listings_stay_within_a_memory_bound() {
    let (mut service, port) = start_web(&[], &[("RUST_LOG", QUIET)]);
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("an HTTP client");
    let base = format!("http://127.0.0.1:{port}");

    // The largest body the server reads: a name at its limit and the rest description.
    let name = "n".repeat(MAX_NAME_CHARS);
    let overhead = json!({ "name": name, "description": "" }).to_string().len();
    let huge = json!({ "name": name, "description": "d".repeat(BODY_LIMIT - overhead) });
    // The largest item the store accepts.
    let largest = json!({ "name": name, "description": "d".repeat(MAX_DESCRIPTION_CHARS) });
    // Serialised once: the client's JSON encoding is not what is measured.
    let (huge, largest) = (
        Bytes::from(huge.to_string()),
        Bytes::from(largest.to_string()),
    );
    let refusal = format!("description must be at most {MAX_DESCRIPTION_CHARS} characters");

    // Four writers at a time: every item as large as the body limit allows (refused),
    // then every item as large as the store accepts.
    let mut refused = Vec::new();
    let mut created = 0;
    for body in [&huge, &largest] {
        for batch in (0..WRITES).collect::<Vec<_>>().chunks(4) {
            let writes: Vec<_> = batch
                .iter()
                .map(|&id| {
                    let request = client
                        .put(format!("{base}/items/{id}"))
                        .header("content-type", "application/json")
                        .body(body.clone());
                    tokio::spawn(async move {
                        let response = request.send().await.expect("PUT");
                        (response.status(), response.text().await.unwrap_or_default())
                    })
                })
                .collect();
            for write in writes {
                let (status, text) = write.await.expect("a writer");
                if body == &largest {
                    created += u64::from(status == StatusCode::CREATED);
                } else if status != StatusCode::BAD_REQUEST || !text.contains(&refusal) {
                    refused.push(format!("{status}: {}", text.get(..120).unwrap_or(&text)));
                }
            }
        }
    }

    let listings = (0..4).map(|_| {
        let client = client.clone();
        let base = base.clone();
        // Every page of the largest size, as a client reading the whole listing would.
        tokio::spawn(async move {
            let mut listed = 0;
            for page in 1.. {
                let url = format!("{base}/items?page={page}&per_page=100");
                let response = client.get(&url).send().await.expect("GET /items");
                assert_eq!(response.status(), StatusCode::OK);
                let items: Vec<Value> = response.json().await.expect("a JSON array");
                if items.is_empty() {
                    break;
                }
                listed += items.len();
            }
            listed
        })
    });
    let mut listed = Vec::new();
    for listing in listings.collect::<Vec<_>>() {
        listed.push(listing.await.expect("a listing"));
    }

    let peak = peak_rss_mib(service.pid());
    eprintln!(
        "items: {WRITES} maximal PUTs, {created} largest items stored, 4 concurrent GET /items \
         of {listed:?} items: peak RSS {peak} MiB"
    );
    assert!(
        peak < PEAK_BOUND_MIB,
        "peak resident memory {peak} MiB, bound {PEAK_BOUND_MIB} MiB"
    );
    assert!(
        refused.is_empty(),
        "{} oversized writes were not refused with a 400 naming the field and its limit, e.g. {}",
        refused.len(),
        refused[0]
    );
    assert_eq!(created, WRITES);
    assert_eq!(listed, vec![WRITES as usize; 4]);
    service.signal("TERM");
    assert!(service.wait_for_exit().success(), "{}", service.log());
}
