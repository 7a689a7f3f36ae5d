//! SQLite, the local store: a file path.

use std::path::PathBuf;

use super::Lookup;

pub const DEFAULT_SQLITE_PATH: &str = "local/data/commerce.db";

/// `SQLITE_PATH`, else the path of a `DATABASE_URL` of the form `sqlite:path`,
/// else the default file.
pub(super) fn sqlite_path(get: &impl Lookup) -> PathBuf {
    let path = get("SQLITE_PATH")
        .or_else(|| get("DATABASE_URL").and_then(|u| u.strip_prefix("sqlite:").map(str::to_owned)))
        .unwrap_or_else(|| DEFAULT_SQLITE_PATH.into());
    PathBuf::from(path.trim_start_matches("//"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn path(pairs: &[(&str, &str)]) -> PathBuf {
        let map: HashMap<&str, &str> = pairs.iter().copied().collect();
        sqlite_path(&|k: &str| map.get(k).map(|v| v.to_string()))
    }

    #[test]
    fn the_path_comes_from_sqlite_path_a_sqlite_url_or_the_default() {
        assert_eq!(path(&[]), PathBuf::from(DEFAULT_SQLITE_PATH));
        assert_eq!(
            path(&[("DATABASE_URL", "sqlite://data/x.db")]),
            PathBuf::from("data/x.db")
        );
        assert_eq!(
            path(&[
                ("SQLITE_PATH", "/tmp/a.db"),
                ("DATABASE_URL", "sqlite:b.db")
            ]),
            PathBuf::from("/tmp/a.db")
        );
    }
}
