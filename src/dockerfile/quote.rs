//! Quoting for the places a value goes: a word of a POSIX shell command line (a `RUN`, a build
//! command shown to a person) and an `ENV` value. prewarm's one shell quoter: every command line
//! it writes or shows goes through [`shell_word`].
//!
//! Quoting is not enough for a Dockerfile: a line break ends the instruction whatever the shell
//! would make of it, so the model refuses control characters before it quotes (see
//! [`super::check`]).

/// Characters a shell word may hold unquoted: none of them is special to a POSIX shell.
const PLAIN: &str = "-_./:,=+@%";

fn plain(word: &str) -> bool {
    !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || PLAIN.contains(c))
}

/// One word for a POSIX shell: bare when it holds only plain characters, else single-quoted
/// (a `'` inside becomes `'\''`).
pub fn shell_word(word: &str) -> String {
    if plain(word) {
        word.to_string()
    } else {
        single_quoted(word)
    }
}

/// `word` in single quotes, always (a `'` inside becomes `'\''`).
pub fn single_quoted(word: &str) -> String {
    format!("'{}'", word.replace('\'', r"'\''"))
}

/// Words joined into one shell command line.
pub fn shell_line<S: AsRef<str>>(words: &[S]) -> String {
    words
        .iter()
        .map(|w| shell_word(w.as_ref()))
        .collect::<Vec<_>>()
        .join(" ")
}

/// An `ENV` value: bare when it holds only plain characters, else double-quoted with `"`, `\`
/// and `$` escaped (so that the Dockerfile parser expands no variable in it).
pub fn env_value(v: &str) -> String {
    if plain(v) {
        v.to_string()
    } else {
        double_quoted(v)
    }
}

/// `v` in double quotes, always, with `"`, `\` and `$` escaped (a `LABEL` value).
pub fn double_quoted(v: &str) -> String {
    let mut out = String::from("\"");
    for c in v.chars() {
        if matches!(c, '"' | '\\' | '$') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell_words() {
        assert_eq!(shell_word("--features=a,b"), "--features=a,b");
        assert_eq!(shell_word("--features=a b"), "'--features=a b'");
        assert_eq!(shell_word("it's"), "'it'\\''s'");
        assert_eq!(shell_word(""), "''");
        assert_eq!(shell_word("$HOME"), "'$HOME'");
        assert_eq!(shell_word("~x"), "'~x'");
        assert_eq!(shell_word("#x"), "'#x'");
        assert_eq!(single_quoted("abc"), "'abc'");
    }

    #[test]
    fn env_values() {
        assert_eq!(env_value("sccache"), "sccache");
        assert_eq!(
            env_value("-C link-arg=-fuse-ld=mold"),
            "\"-C link-arg=-fuse-ld=mold\""
        );
        assert_eq!(env_value("a\"$b"), "\"a\\\"\\$b\"");
    }
}
