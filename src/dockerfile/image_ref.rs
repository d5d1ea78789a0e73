//! Image references, by the grammar of the distribution spec: what `--base-image`,
//! `--runtime-image` and the other image options may be, and what a `FROM` or `COPY --from`
//! may name (see [`super::check`]).

use super::check::checked;
use crate::error::Result;

fn image_hint() -> String {
    format!(
        "give an image reference, [registry[:port]/]path[:tag][@digest], such as {} or registry.example.com:5000/team/rust:{}",
        crate::defaults::RUST_IMAGE,
        crate::defaults::RUST_VERSION
    )
}

/// An image reference, by the grammar of the distribution spec:
/// `[registry[:port]/]path[:tag][@algorithm:hex]`, path components lowercase.
pub fn image_ref(value: &str, origin: &str) -> Result<()> {
    checked(
        value,
        origin,
        "an image reference",
        &image_hint(),
        image_ref_problem(value),
    )
}

pub(super) fn image_ref_problem(value: &str) -> Option<String> {
    if value.is_empty() {
        return Some("it is empty".into());
    }
    let (rest, digest) = match value.split_once('@') {
        Some((r, d)) => (r, Some(d)),
        None => (value, None),
    };
    if let Some(d) = digest {
        if let Some(p) = digest_problem(d) {
            return Some(p);
        }
    }
    let (name, tag) = match rest.rfind(':') {
        Some(i) if !rest[i..].contains('/') => (&rest[..i], Some(&rest[i + 1..])),
        _ => (rest, None),
    };
    if let Some(t) = tag {
        let word = |c: char| c.is_ascii_alphanumeric() || c == '_';
        let ok = t.len() <= 128
            && t.starts_with(word)
            && t.chars().all(|c| word(c) || c == '.' || c == '-');
        if !ok {
            return Some(format!(
                "the tag `{t}` is not [A-Za-z0-9_][A-Za-z0-9_.-]{{0,127}}"
            ));
        }
    }
    if name.len() > 255 {
        return Some("the name is longer than 255 characters".into());
    }
    let mut components: Vec<&str> = name.split('/').collect();
    if components.len() > 1 {
        let first = components[0];
        if first.contains(['.', ':']) || first == "localhost" || first.contains(char::is_uppercase)
        {
            if let Some(p) = domain_problem(first) {
                return Some(p);
            }
            components.remove(0);
        }
    }
    for c in components {
        if !path_component_ok(c) {
            return Some(format!(
                "the path component `{c}` is not lowercase letters and digits joined by `.`, `_`, `__` or dashes"
            ));
        }
    }
    None
}

/// `[a-z0-9]+` runs joined by one separator each: `.`, `_`, `__` or any number of `-`.
fn path_component_ok(component: &str) -> bool {
    let alnum = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit();
    if !component.starts_with(alnum) || !component.ends_with(alnum) {
        return false;
    }
    let mut sep = String::new();
    for c in component.chars() {
        if alnum(c) {
            let ok = sep.is_empty()
                || sep == "."
                || sep == "_"
                || sep == "__"
                || sep.chars().all(|s| s == '-');
            if !ok {
                return false;
            }
            sep.clear();
        } else if ".-_".contains(c) {
            sep.push(c);
        } else {
            return false;
        }
    }
    true
}

fn domain_problem(domain: &str) -> Option<String> {
    let (host, port) = if let Some(rest) = domain.strip_prefix('[') {
        let Some((v6, after)) = rest.split_once(']') else {
            return Some(format!("the registry `{domain}` has an unclosed `[`"));
        };
        if v6.is_empty() || !v6.chars().all(|c| c.is_ascii_hexdigit() || c == ':') {
            return Some(format!("the registry `{domain}` is not an IPv6 address"));
        }
        match after {
            "" => return None,
            _ => match after.strip_prefix(':') {
                Some(p) => ("", Some(p)),
                None => return Some(format!("the registry `{domain}` is not host[:port]")),
            },
        }
    } else {
        match domain.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (domain, None),
        }
    };
    if let Some(p) = port {
        if p.is_empty() || !p.chars().all(|c| c.is_ascii_digit()) {
            return Some(format!("the registry port `{p}` is not a number"));
        }
    }
    if domain.starts_with('[') {
        return None;
    }
    let label_ok = |l: &str| {
        !l.is_empty()
            && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            && !l.starts_with('-')
            && !l.ends_with('-')
    };
    if host.split('.').all(label_ok) {
        None
    } else {
        Some(format!(
            "the registry `{host}` is not a host name (letters, digits and dashes, dot-separated)"
        ))
    }
}

fn digest_problem(digest: &str) -> Option<String> {
    let bad = || {
        Some(format!("the digest `{digest}` is not algorithm:hex (such as sha256: and at least 32 hex digits)"))
    };
    let Some((algorithm, hex)) = digest.split_once(':') else {
        return bad();
    };
    let component_ok = |c: &str| {
        c.starts_with(|x: char| x.is_ascii_alphabetic())
            && c.chars().all(|x| x.is_ascii_alphanumeric())
    };
    if !algorithm.split(['+', '.', '-', '_']).all(component_ok)
        || hex.len() < 32
        || !hex.chars().all(|c| c.is_ascii_hexdigit())
    {
        return bad();
    }
    None
}
