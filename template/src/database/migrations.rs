//! The schema's history: every file of `migrations/`, compiled into the binary so that
//! an image or a copied binary migrates without the folder.
//!
//! Adding a migration is a file `migrations/NNNN_what_it_does.sql` (the number orders
//! them and never changes once deployed) and one line in [`MIGRATIONS`]; a test below
//! fails while the two disagree. sqlx records each applied file with its checksum in
//! `_sqlx_migrations`, so editing a file that has run is refused at the next start:
//! write a new one instead.
//!
//! Listed by hand rather than with `sqlx::migrate!`: that macro needs sqlx's proc-macro
//! crate, which compiles the database driver a second time, for the compiler.

use std::borrow::Cow;

use sqlx::SqlSafeStr;
use sqlx::migrate::{Migration, MigrationType, Migrator};

/// The table in which sqlx records what ran.
pub const TABLE: &str = "_sqlx_migrations";

/// Every migration, oldest first: its file name in `migrations/` and its SQL.
pub const MIGRATIONS: &[(&str, &str)] = &[(
    "0001_create_items.sql",
    include_str!("../../migrations/0001_create_items.sql"),
)];

/// The migrations as sqlx runs them. Locking is left to
/// [`Database::migrate`](super::Database::migrate), which also counts what it applied.
pub fn migrator() -> Migrator {
    let migrations = MIGRATIONS
        .iter()
        .map(|(file, sql)| {
            let (version, description) = parse_file_name(file);
            Migration::new(
                version,
                Cow::Owned(description),
                MigrationType::Simple,
                sql.into_sql_str(),
                false,
            )
        })
        .collect();
    let mut migrator = Migrator::with_migrations(migrations);
    migrator.set_locking(false);
    migrator
}

/// `0001_create_items.sql` → `(1, "create items")`. The names are constants checked by
/// the tests below, so a malformed one is a bug caught before it ships.
fn parse_file_name(file: &str) -> (i64, String) {
    let stem = file
        .strip_suffix(".sql")
        .expect("a migration file ends in .sql");
    let (version, description) = stem
        .split_once('_')
        .expect("a migration file is named NNNN_description.sql");
    let version = version
        .parse()
        .expect("a migration file's name starts with its number");
    (version, description.replace('_', " "))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::{MIGRATIONS, migrator, parse_file_name};

    #[test]
    fn every_file_of_the_folder_is_listed_once_in_order() {
        let folder = concat!(env!("CARGO_MANIFEST_DIR"), "/migrations");
        let files: BTreeSet<String> = std::fs::read_dir(folder)
            .expect("read migrations/")
            .map(|entry| entry.expect("a directory entry").file_name())
            .map(|name| name.to_string_lossy().into_owned())
            .collect();
        let listed: Vec<&str> = MIGRATIONS.iter().map(|(file, _)| *file).collect();
        let listed_set: BTreeSet<String> = listed.iter().map(|file| (*file).to_owned()).collect();
        assert_eq!(files, listed_set, "migrations/ and MIGRATIONS disagree");
        let versions: Vec<i64> = listed.iter().map(|file| parse_file_name(file).0).collect();
        assert!(
            versions.windows(2).all(|pair| pair[0] < pair[1]),
            "MIGRATIONS must be listed by increasing number: {versions:?}"
        );
    }

    #[test]
    fn file_names_give_the_version_and_the_description() {
        assert_eq!(
            parse_file_name("0001_create_items.sql"),
            (1, "create items".to_owned())
        );
        assert_eq!(migrator().iter().count(), MIGRATIONS.len());
    }
}
