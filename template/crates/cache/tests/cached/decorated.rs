//! The functions under test, decorated as a service would decorate its own. Each
//! counts its loads (the body's runs) in an argument the key leaves out.

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde::{Deserialize, Serialize};
use service_cache::cached;
use tokio::sync::Notify;

/// A value with some shape, stored as JSON.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    pub id: u32,
    pub name: String,
}

/// The seed's example: a user by id, in the persistent alias for a short TTL.
#[cached(alias = "persistent", ttl = "300ms", key = "user:{id}")]
pub async fn user(id: u32, loads: &AtomicUsize) -> Result<User, Infallible> {
    loads.fetch_add(1, Ordering::SeqCst);
    Ok(User {
        id,
        name: format!("user {id}"),
    })
}

/// A report in the memory alias for the alias's default TTL, keyed by two arguments.
#[cached(key = "report:{year}:{region}")]
pub async fn report(year: u16, region: &str, loads: &AtomicUsize) -> Result<String, Infallible> {
    loads.fetch_add(1, Ordering::SeqCst);
    Ok(format!("{region} {year}"))
}

/// Fails while `down` is true; an early `return` inside the body returns the error.
#[cached(alias = "persistent", key = "price:{item}")]
pub async fn price(item: u32, down: bool, loads: &AtomicUsize) -> Result<u64, String> {
    loads.fetch_add(1, Ordering::SeqCst);
    if down {
        return Err(format!("the price list is down for item {item}"));
    }
    Ok(u64::from(item) * 100)
}

/// A slow load: counts itself, then waits for `gate`, so callers pile up behind it.
#[cached(alias = "persistent", ttl = "1m", key = "slow:{id}")]
pub async fn slow(id: u32, loads: Arc<AtomicUsize>, gate: Arc<Notify>) -> Result<u32, Infallible> {
    loads.fetch_add(1, Ordering::SeqCst);
    gate.notified().await;
    Ok(id * 10)
}

/// `?` converts the body's errors as it does in any function returning `Result`.
#[cached(key = "parsed:{text}")]
pub async fn parsed(text: &str, loads: &AtomicUsize) -> Result<u32, std::num::ParseIntError> {
    loads.fetch_add(1, Ordering::SeqCst);
    let number: u32 = text.trim().parse()?;
    Ok(number)
}

/// A repository whose method is cached: the receiver is captured by the loader.
pub struct Catalogue {
    /// Put in front of every title, so the loader's use of `self` shows.
    pub label: String,
    /// How often a title was loaded.
    pub loads: AtomicUsize,
}

impl Catalogue {
    #[cached(key = "title:{id}")]
    pub async fn title(&self, id: u32) -> Result<String, Infallible> {
        self.loads.fetch_add(1, Ordering::SeqCst);
        Ok(format!("{} {id}", self.label))
    }
}
