//! `.dockerignore` files: the one prewarm writes, and a matcher for the patterns of one that a
//! project already has, with the semantics of Docker's and Buildah's builders.
//!
//! A pattern is matched against a path relative to the build context, `/`-separated, as a
//! whole: `*` is any run of characters but `/`, `?` one character but `/`, `[...]` a class,
//! `**` any number of directories, none included (`**/.env` matches `.env` and `a/b/.env`), and
//! `\` escapes the next character. A path is excluded when a pattern matches it or one of its
//! parent directories; the last matching pattern wins, so `!pattern` takes a path back in.
//! Lines starting with `#` are comments; patterns are trimmed and cleaned like paths
//! (`./a/`, `/a` and `a` are the same pattern).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use super::MARKER;

/// What the `.dockerignore` prewarm writes leaves out of every build context, before the
/// build output: files with secrets in them, at any depth. `.cargo/` as a whole stays in: the
/// recipe needs its `config.toml`.
pub const SECRETS: &[&str] = &[
    "**/.cargo/credentials",
    "**/.cargo/credentials.toml",
    "**/.env",
    "**/.env.*",
    "**/*.pem",
    "**/*.key",
];

/// Build output and version control data, at any depth.
pub const BULK: &[&str] = &["**/target", "**/.git"];

impl super::ProjectImage {
    /// A `.dockerignore` for the build context: what `COPY . .` must not see.
    pub fn dockerignore(&self, extra: &[String]) -> String {
        let mut out = format!(
            "{MARKER}: what the build context leaves out (`**/` matches at any depth,\n\
             # the top included).\n\
             #\n\
             # Secrets, which no layer may hold: cargo's registry tokens, environment files, keys\n\
             # and certificates. The image gets credentials as BuildKit secrets instead (see the\n\
             # Dockerfile's header). If the build needs such a file (a test certificate, say), add\n\
             # a `!path/to/it` line at the end. `.cargo/config.toml` stays in: the recipe needs it.\n",
        );
        for p in SECRETS {
            out.push_str(p);
            out.push('\n');
        }
        out.push_str(
            "# Build output and version control data are large, and they would change the\n\
             # `COPY . .` layers on every build.\n",
        );
        for p in BULK {
            out.push_str(p);
            out.push('\n');
        }
        for e in extra {
            out.push_str(e);
            out.push('\n');
        }
        let _ = write!(
            out,
            "# The Dockerfile is read on its own; leaving it out keeps edits to it from rebuilding\n\
             # the source layers.\n\
             {}\n\
             .dockerignore\n",
            self.context.dockerfile
        );
        out
    }
}

/// The patterns of a `.dockerignore`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ignore {
    patterns: Vec<Pattern>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Pattern {
    /// `!pattern`: takes matching paths back in.
    include: bool,
    tokens: Vec<Token>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Char(char),
    /// `*`: any run of characters but `/`.
    Star,
    /// `?`: one character but `/`.
    Any,
    /// `[...]`: one character of the class (or not of it, `[^...]`).
    Class {
        negated: bool,
        items: Vec<(char, char)>,
    },
    /// `**` before more of the pattern (`**/` included): any number of whole directories.
    Dirs,
    /// `**` at the end: anything.
    Rest,
}

impl Ignore {
    /// Parses the text of a `.dockerignore`.
    pub fn parse(text: &str) -> Ignore {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let mut patterns = Vec::new();
        for line in text.lines() {
            if line.starts_with('#') {
                continue;
            }
            let line = line.trim();
            if line.is_empty() {
                continue;
            }
            let (include, pattern) = match line.strip_prefix('!') {
                Some(rest) => (true, rest.trim()),
                None => (false, line),
            };
            if pattern.is_empty() {
                continue;
            }
            let cleaned = clean(pattern);
            let cleaned = match cleaned.strip_prefix('/') {
                Some(rest) if !rest.is_empty() => rest.to_string(),
                _ => cleaned,
            };
            patterns.push(Pattern {
                include,
                tokens: tokens(&cleaned),
            });
        }
        Ignore { patterns }
    }

    /// Whether some pattern takes paths back in (`!pattern`): an excluded directory may then
    /// still hold paths that are not.
    pub fn has_inclusions(&self) -> bool {
        self.patterns.iter().any(|p| p.include)
    }

    /// Whether the build context leaves out `path` (relative, `/`-separated).
    pub fn excludes(&self, path: &str) -> bool {
        let parents: Vec<&str> = match path.rfind('/') {
            Some(i) => path[..i].split('/').collect(),
            None => Vec::new(),
        };
        let mut excluded = false;
        for pattern in &self.patterns {
            // Only a pattern that could change the verdict is tried.
            if pattern.include != excluded {
                continue;
            }
            let mut hit = matches(&pattern.tokens, &path.chars().collect::<Vec<_>>());
            if !hit {
                for i in 1..=parents.len() {
                    let parent: Vec<char> = parents[..i].join("/").chars().collect();
                    if matches(&pattern.tokens, &parent) {
                        hit = true;
                        break;
                    }
                }
            }
            if hit {
                excluded = !pattern.include;
            }
        }
        excluded
    }
}

/// `pattern` cleaned like a path: no empty or `.` components, `..` resolved, no trailing `/`.
fn clean(pattern: &str) -> String {
    let absolute = pattern.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for part in pattern.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if parts.last().is_some_and(|p| *p != "..") {
                    parts.pop();
                } else if !absolute {
                    parts.push("..");
                }
            }
            p => parts.push(p),
        }
    }
    let joined = parts.join("/");
    match (absolute, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".to_string(),
        (false, false) => joined,
    }
}

fn tokens(pattern: &str) -> Vec<Token> {
    let chars: Vec<char> = pattern.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '*' if chars.get(i + 1) == Some(&'*') => {
                i += 2;
                if chars.get(i) == Some(&'/') {
                    i += 1;
                }
                out.push(if i >= chars.len() {
                    Token::Rest
                } else {
                    Token::Dirs
                });
                continue;
            }
            '*' => out.push(Token::Star),
            '?' => out.push(Token::Any),
            '\\' if i + 1 < chars.len() => {
                i += 1;
                out.push(Token::Char(chars[i]));
            }
            '[' => {
                if let Some((class, next)) = class(&chars, i) {
                    out.push(class);
                    i = next;
                    continue;
                }
                out.push(Token::Char('['));
            }
            c => out.push(Token::Char(c)),
        }
        i += 1;
    }
    out
}

/// The class that starts at `chars[start]` (`[`), and the index after its `]`.
fn class(chars: &[char], start: usize) -> Option<(Token, usize)> {
    let mut i = start + 1;
    let negated = matches!(chars.get(i), Some('^' | '!'));
    if negated {
        i += 1;
    }
    let mut items = Vec::new();
    let mut first = true;
    while i < chars.len() {
        let mut c = chars[i];
        if c == ']' && !first {
            return Some((Token::Class { negated, items }, i + 1));
        }
        first = false;
        if c == '\\' && i + 1 < chars.len() {
            i += 1;
            c = chars[i];
        }
        if chars.get(i + 1) == Some(&'-') && chars.get(i + 2).is_some_and(|e| *e != ']') {
            items.push((c, chars[i + 2]));
            i += 3;
        } else {
            items.push((c, c));
            i += 1;
        }
    }
    None
}

fn matches(tokens: &[Token], text: &[char]) -> bool {
    let Some((token, rest)) = tokens.split_first() else {
        return text.is_empty();
    };
    match token {
        Token::Char(c) => text.first() == Some(c) && matches(rest, &text[1..]),
        Token::Any => text.first().is_some_and(|c| *c != '/') && matches(rest, &text[1..]),
        Token::Class { negated, items } => {
            text.first().is_some_and(|c| {
                let inside = items.iter().any(|(lo, hi)| (*lo..=*hi).contains(c));
                inside != *negated
            }) && matches(rest, &text[1..])
        }
        Token::Star => {
            let run = text.iter().take_while(|c| **c != '/').count();
            (0..=run).any(|n| matches(rest, &text[n..]))
        }
        Token::Dirs => {
            matches(rest, text)
                || text
                    .iter()
                    .enumerate()
                    .any(|(i, c)| *c == '/' && matches(rest, &text[i + 1..]))
        }
        Token::Rest => true,
    }
}

/// Cargo credential files in the build context `root` that `ignore` lets into it, relative to
/// `root`. Directories the context leaves out are not searched (unless a `!pattern` could
/// take something in them back), nor are symbolic links followed.
pub fn exposed_credentials(root: &Path, ignore: &Ignore) -> Vec<PathBuf> {
    let prune = !ignore.has_inclusions();
    let relative = |p: &Path| {
        p.strip_prefix(root)
            .ok()
            .map(|r| r.to_string_lossy().replace('\\', "/"))
    };
    let mut found = Vec::new();
    let walk = walkdir::WalkDir::new(root)
        .follow_links(false)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| {
            !(prune
                && e.depth() > 0
                && e.file_type().is_dir()
                && relative(e.path()).is_some_and(|r| ignore.excludes(&r)))
        });
    for entry in walk.filter_map(std::result::Result::ok) {
        let is_credentials = entry.file_type().is_file()
            && matches!(
                entry.file_name().to_str(),
                Some("credentials" | "credentials.toml")
            )
            && entry
                .path()
                .parent()
                .and_then(Path::file_name)
                .is_some_and(|d| d == ".cargo");
        if !is_credentials {
            continue;
        }
        if let Some(rel) = relative(entry.path()) {
            if !ignore.excludes(&rel) {
                found.push(PathBuf::from(rel));
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn excludes(patterns: &str, path: &str) -> bool {
        Ignore::parse(patterns).excludes(path)
    }

    #[test]
    fn globs() {
        assert!(excludes("*.pem", "a.pem"));
        assert!(!excludes("*.pem", "d/a.pem"), "`*` does not cross `/`");
        assert!(excludes("*/*.pem", "d/a.pem"));
        assert!(
            excludes("**/*.pem", "a.pem"),
            "`**/` matches no directory too"
        );
        assert!(excludes("**/*.pem", "d/e/a.pem"));
        assert!(excludes("**/.env", ".env"));
        assert!(excludes("**/.env", "crates/x/.env"));
        assert!(!excludes("**/.env", "crates/x/.envrc"));
        assert!(excludes("**/.env.*", "a/.env.local"));
        assert!(excludes("a/**", "a/b/c"));
        assert!(excludes("a/**/c", "a/c"));
        assert!(excludes("a/**/c", "a/x/y/c"));
        assert!(!excludes("a/**/c", "a/xc"));
        assert!(excludes("?.key", "k.key") && !excludes("?.key", "kk.key"));
        assert!(excludes("[ab].txt", "a.txt") && !excludes("[ab].txt", "c.txt"));
        assert!(excludes("[a-c].txt", "b.txt") && !excludes("[^a-c].txt", "b.txt"));
        assert!(excludes("\\*.txt", "*.txt") && !excludes("\\*.txt", "a.txt"));
        assert!(excludes("[", "["), "an unclosed class is a character");
    }

    #[test]
    fn lines_cleaning_and_parents() {
        let ignore = "# comment\n\n  target/  \n./.git\n/docs\n";
        assert!(excludes(ignore, "target"));
        assert!(
            excludes(ignore, "target/debug/app"),
            "a parent directory matches"
        );
        assert!(
            !excludes(ignore, "crates/a/target/x"),
            "no `**/`: the top only"
        );
        assert!(excludes(ignore, ".git/HEAD"));
        assert!(excludes(ignore, "docs/a.md"));
        assert!(!excludes(ignore, "# comment"));
        assert!(!excludes(ignore, "src/main.rs"));
        assert!(
            excludes(" # not a comment", "# not a comment"),
            "only a leading `#`"
        );
        assert_eq!(clean("a/./b//c/"), "a/b/c");
        assert_eq!(clean("a/../b"), "b");
        assert_eq!(clean("../a"), "../a");
        assert_eq!(clean("/../a"), "/a");
        assert_eq!(clean("./"), ".");
    }

    #[test]
    fn last_match_wins() {
        let ignore = "*.md\n!README.md\n";
        assert!(excludes(ignore, "NOTES.md"));
        assert!(!excludes(ignore, "README.md"));
        let ignore = ".cargo\n!.cargo/config.toml\n";
        assert!(!excludes(ignore, ".cargo/config.toml"));
        assert!(excludes(ignore, ".cargo/credentials.toml"));
        assert!(Ignore::parse(ignore).has_inclusions());
        assert!(!Ignore::parse("a\n").has_inclusions());
    }

    #[test]
    fn what_prewarm_leaves_out() {
        let text = SECRETS
            .iter()
            .chain(BULK)
            .copied()
            .collect::<Vec<_>>()
            .join("\n");
        let ignore = Ignore::parse(&text);
        for out in [
            ".cargo/credentials",
            ".cargo/credentials.toml",
            "crates/a/.cargo/credentials.toml",
            ".env",
            ".env.production",
            "crates/a/.env",
            "tls/server.pem",
            "server.key",
            "a/b/c.key",
            ".git/config",
            "vendor/dep/.git",
            "target/release/app",
            "crates/a/target/debug/x",
        ] {
            assert!(ignore.excludes(out), "{out} is left out");
        }
        for kept in [
            ".cargo/config.toml",
            "crates/a/.cargo/config.toml",
            "Cargo.toml",
            "src/main.rs",
            ".envrc",
            "src/keys.rs",
            "src/pem.rs",
        ] {
            assert!(!ignore.excludes(kept), "{kept} stays in");
        }
    }

    #[test]
    fn credentials_in_a_context() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        for f in [
            ".cargo/credentials.toml",
            ".cargo/config.toml",
            "crates/a/.cargo/credentials",
            "target/.cargo/credentials",
            "credentials",
        ] {
            std::fs::create_dir_all(root.join(f).parent().unwrap()).unwrap();
            std::fs::write(root.join(f), "x").unwrap();
        }
        let found = exposed_credentials(root, &Ignore::parse("target\n"));
        assert_eq!(
            found,
            [
                PathBuf::from(".cargo/credentials.toml"),
                PathBuf::from("crates/a/.cargo/credentials")
            ]
        );
        let found = exposed_credentials(root, &Ignore::parse("**/.cargo/credentials*\n"));
        assert!(found.is_empty(), "{found:?}");
        let found = exposed_credentials(root, &Ignore::parse("*\n!target\n"));
        assert_eq!(found, [PathBuf::from("target/.cargo/credentials")]);
    }
}
