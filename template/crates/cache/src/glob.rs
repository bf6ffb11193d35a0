//! The key patterns of `delete_matching`: `*` matches any run of characters (including
//! none), `?` exactly one, and every other character only itself. The same rules hold on
//! every backend; the Redis backend translates them into an escaped `SCAN MATCH` pattern.

/// Whether `key` matches `pattern` as a whole.
///
/// Classic two-pointer matching with one backtrack point (the last `*`): linear in
/// practice and never recursive, so a hostile pattern cannot blow the stack.
pub(super) fn matches(pattern: &str, key: &str) -> bool {
    let pattern: Vec<char> = pattern.chars().collect();
    let key: Vec<char> = key.chars().collect();
    let (mut p, mut k) = (0, 0);
    // Where to resume after the last `*`: (pattern index after it, key index it covers up to).
    let mut backtrack: Option<(usize, usize)> = None;
    while k < key.len() {
        match pattern.get(p) {
            Some('*') => {
                backtrack = Some((p + 1, k));
                p += 1;
            }
            Some(&c) if c == '?' || c == key[k] => {
                p += 1;
                k += 1;
            }
            _ => match backtrack {
                // Let the last `*` swallow one more character and try again.
                Some((after_star, covered)) => {
                    backtrack = Some((after_star, covered + 1));
                    p = after_star;
                    k = covered + 1;
                }
                None => return false,
            },
        }
    }
    pattern[p..].iter().all(|&c| c == '*')
}

#[cfg(test)]
mod tests {
    use super::matches;

    #[test]
    fn star_matches_any_run_and_question_mark_one_character() {
        assert!(matches("*", ""));
        assert!(matches("*", "anything:at:all"));
        assert!(matches("user:*", "user:"));
        assert!(matches("user:*", "user:42"));
        assert!(!matches("user:*", "users:42"));
        assert!(matches("user:?", "user:7"));
        assert!(!matches("user:?", "user:42"));
        assert!(matches("*:42", "user:42"));
        assert!(matches("a*b*c", "a-b-b-c"));
        assert!(!matches("a*b*c", "a-b-b-d"));
        assert!(matches("é?", "éß"));
    }

    #[test]
    fn everything_else_is_literal() {
        assert!(matches("[ab]", "[ab]"));
        assert!(!matches("[ab]", "a"));
        assert!(matches("a\\*", "a\\xyz"));
        assert!(!matches("exact", "exactly"));
        assert!(!matches("exactly", "exact"));
    }

    #[test]
    fn many_stars_do_not_explode() {
        let pattern = "*a".repeat(50) + "b";
        assert!(!matches(&pattern, &"a".repeat(2_000)));
    }
}
