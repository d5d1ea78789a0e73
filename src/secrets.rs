//! Credentials in the files a recipe is made of: the userinfo of URLs (`user:password@`),
//! `[env]` entries whose name looks secret, and what was taken out, so that the verb can say
//! so. The values themselves never leave this module's callers' input.

use std::fmt;

use toml::{Table, Value};

/// What an `[env]` entry with a secret-looking name holds in a recipe. The cook sees that the
/// entry exists; the real build reads the real value from its own config file.
pub const MARKER: &str = "prewarm-stripped";

/// Parts of an environment variable name that mark it as secret (compared case-insensitively).
const SECRET_WORDS: &[&str] = &[
    "TOKEN",
    "SECRET",
    "PASSWORD",
    "PASSWD",
    "KEY",
    "CREDENTIAL",
    "AUTH",
];

/// Keys whose URL value names a source to cargo (its identity in the lockfile and in every
/// fingerprint of its packages).
const SOURCE_KEYS: &[&str] = &["git", "registry", "index", "registry-index"];

/// What was taken out of a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    /// A registry token.
    Token,
    /// A credential provider or another credential setting.
    CredentialSetting,
    /// The userinfo of a URL that names a source (git, registry, lockfile `source`).
    SourceUserinfo,
    /// The userinfo of any other URL (a proxy, a `[patch]` key, an `[env]` value).
    Userinfo,
    /// An `[env]` value whose name looks secret, replaced by [`MARKER`].
    SecretEnv,
}

impl Kind {
    /// How the stderr line names it.
    pub fn label(self) -> &'static str {
        match self {
            Kind::Token => "token",
            Kind::CredentialSetting => "credential setting",
            Kind::SourceUserinfo | Kind::Userinfo => "userinfo",
            Kind::SecretEnv => "secret-looking [env] name",
        }
    }
}

/// One credential taken out of a file, named by its (stripped) dotted key.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Removed {
    /// The dotted key (`registries.corp.index`, `dependencies.foo.git`), never the value.
    pub key: String,
    /// What it was.
    pub kind: Kind,
}

impl Removed {
    /// The same, in the file `file` (relative to the layout root, as the recipe names it).
    pub fn in_file(self, file: &str) -> Stripped {
        Stripped {
            file: file.to_string(),
            key: self.key,
            kind: self.kind,
        }
    }
}

/// One credential the recipe left out.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
pub struct Stripped {
    /// The file, relative to the layout root.
    pub file: String,
    /// The dotted key.
    pub key: String,
    /// What it was.
    pub kind: Kind,
}

impl fmt::Display for Stripped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "stripped a credential from `{}` key `{}` ({})",
            self.file,
            self.key,
            self.kind.label()
        )
    }
}

/// Whether an environment variable's name looks like it holds a secret.
pub fn looks_secret(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    SECRET_WORDS.iter().any(|w| upper.contains(w))
}

/// `text` with the userinfo of every URL in it taken out (`https://user:token@host/x` becomes
/// `https://host/x`; host, port and path stay). For ssh URLs only a password goes: their user
/// name is a login, which ssh needs. `None` when there was nothing to take out.
pub fn strip_userinfo(text: &str) -> Option<String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    let mut changed = false;
    while let Some(pos) = rest.find("://") {
        let scheme_len = rest[..pos]
            .chars()
            .rev()
            .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
            .count();
        let scheme = &rest[pos - scheme_len..pos];
        let ssh = scheme.split('+').any(|p| p.eq_ignore_ascii_case("ssh"));
        let start = pos + 3;
        out.push_str(&rest[..start]);
        let after = &rest[start..];
        let end = after
            .find(|c: char| {
                matches!(c, '/' | '?' | '#' | '"' | '\'' | ')' | '(') || c.is_whitespace()
            })
            .unwrap_or(after.len());
        let authority = &after[..end];
        match authority.rfind('@') {
            Some(at) if ssh => {
                let userinfo = &authority[..at];
                let user = userinfo.split_once(':').map_or(userinfo, |(u, _)| u);
                changed |= user.len() != userinfo.len();
                out.push_str(user);
                out.push_str(&authority[at..]);
            }
            Some(at) => {
                changed = true;
                out.push_str(&authority[at + 1..]);
            }
            None => out.push_str(authority),
        }
        rest = &after[end..];
    }
    out.push_str(rest);
    changed.then_some(out)
}

/// `user:password@host:port` (a proxy written without a scheme) without its userinfo.
pub fn strip_bare_userinfo(text: &str) -> Option<String> {
    if text.contains("://") {
        return strip_userinfo(text);
    }
    let at = text.rfind('@')?;
    Some(text[at + 1..].to_string())
}

/// Takes the userinfo out of every URL in `table`, keys included (a `[patch."<url>"]` table),
/// at any depth; `prefix` is the dotted key of `table` itself ("" at the top).
pub fn strip_urls(table: &mut Table, prefix: &str, out: &mut Vec<Removed>) {
    let old = std::mem::take(table);
    for (key, mut value) in old {
        let key = match strip_userinfo(&key) {
            Some(stripped) => {
                out.push(Removed {
                    key: join(prefix, &stripped),
                    kind: Kind::Userinfo,
                });
                stripped
            }
            None => key,
        };
        let path = join(prefix, &key);
        strip_value(&mut value, &key, &path, out);
        match (table.get_mut(&key), value) {
            // Two keys that differ only in their userinfo: one table, as cargo would see them.
            (Some(Value::Table(existing)), Value::Table(more)) => existing.extend(more),
            (_, value) => {
                table.insert(key, value);
            }
        }
    }
}

fn strip_value(value: &mut Value, key: &str, path: &str, out: &mut Vec<Removed>) {
    match value {
        Value::String(s) => {
            if let Some(stripped) = strip_userinfo(s) {
                *s = stripped;
                let kind = if SOURCE_KEYS.contains(&key) {
                    Kind::SourceUserinfo
                } else {
                    Kind::Userinfo
                };
                out.push(Removed {
                    key: path.to_string(),
                    kind,
                });
            }
        }
        Value::Table(t) => strip_urls(t, path, out),
        Value::Array(items) => {
            for item in items {
                strip_value(item, key, path, out);
            }
        }
        _ => {}
    }
}

/// `prefix.key`, with `key` quoted when it is not a bare TOML key.
pub fn join(prefix: &str, key: &str) -> String {
    let bare = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    let key = if bare {
        key.to_string()
    } else {
        format!("\"{}\"", key.replace('\\', "\\\\").replace('"', "\\\""))
    };
    if prefix.is_empty() {
        key
    } else {
        format!("{prefix}.{key}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn userinfo_goes_host_and_path_stay() {
        let cases = [
            (
                "https://user:tok@github.com/org/repo",
                "https://github.com/org/repo",
            ),
            (
                "sparse+https://tok@corp.example/index/",
                "sparse+https://corp.example/index/",
            ),
            (
                "git+https://u:p@host:8443/x?branch=main#abc",
                "git+https://host:8443/x?branch=main#abc",
            ),
            (
                "http://user:p%40ss@proxy.example:3128",
                "http://proxy.example:3128",
            ),
            (
                "ssh://git:pw@github.com/org/repo",
                "ssh://git@github.com/org/repo",
            ),
            (
                " \"dep 1.0.0 (git+https://u:t@h/x#r)\",",
                " \"dep 1.0.0 (git+https://h/x#r)\",",
            ),
        ];
        for (from, to) in cases {
            assert_eq!(strip_userinfo(from).as_deref(), Some(to), "{from}");
        }
        for same in [
            "https://github.com/org/repo",
            "ssh://git@github.com/org/repo",
            "not a url",
            "mailto:me@example.com",
        ] {
            assert_eq!(strip_userinfo(same), None, "{same}");
        }
        assert_eq!(
            strip_bare_userinfo("user:pw@proxy:3128").as_deref(),
            Some("proxy:3128")
        );
    }

    #[test]
    fn keys_and_nested_values_are_stripped_and_named() {
        let mut t: Table = toml::from_str(
            "[patch.\"https://u:t@github.com/x/y\"]\ny = { path = \"y\" }\n[dependencies]\nz = { git = \"https://u:t@github.com/x/z\" }\n",
        )
        .unwrap();
        let mut out = Vec::new();
        strip_urls(&mut t, "", &mut out);
        let text = toml::to_string(&t).unwrap();
        assert!(!text.contains("u:t"), "{text}");
        assert!(text.contains("https://github.com/x/z"), "{text}");
        out.sort();
        assert_eq!(
            out,
            [
                Removed {
                    key: "dependencies.z.git".into(),
                    kind: Kind::SourceUserinfo
                },
                Removed {
                    key: "patch.\"https://github.com/x/y\"".into(),
                    kind: Kind::Userinfo
                },
            ]
        );
    }

    #[test]
    fn secret_names() {
        for name in [
            "SECRET_TOKEN",
            "api_key",
            "DbPassword",
            "GITHUB_AUTH",
            "AWS_CREDENTIALS",
        ] {
            assert!(looks_secret(name), "{name}");
        }
        for name in ["GREETING", "RUST_LOG", "DATABASE_URL"] {
            assert!(!looks_secret(name), "{name}");
        }
    }
}
