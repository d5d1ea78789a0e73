//! Tests of [`super`]: the kinds and places of every value a Dockerfile holds.

use super::*;

#[test]
fn image_references() {
    for good in [
        "rust",
        "rust:1.95-bookworm",
        "library/rust:1.95",
        "docker.io/library/rust:1.95",
        "localhost/rust",
        "localhost:5000/team/rust:x",
        "registry.example.com:5000/a/b/c:tag_1.2-x",
        "gcr.io/distroless/cc-debian12:nonroot",
        "ghcr.io/prewarm-rs/prewarm:0.1.0",
        "a__b/c---d/e.f_g",
        "[::1]:5000/rust",
        "Registry.Example.com/rust",
        "rust@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
        "rust:1.95@sha256:0123456789abcdef0123456789abcdef",
        "base",
    ] {
        assert_eq!(image_ref_problem(good), None, "{good}");
    }
    for bad in [
        "",
        "Rust",
        "rust:",
        "rust:-x",
        "rust:a/b",
        "rust@sha256:abc",
        "rust@sha256",
        "a..b/c",
        "-a/b",
        "a/b-",
        "a___b",
        "reg:port/x",
        "reg.com:50a0/x",
        "bad_host.com/x",
        "rust:1.95 AS x",
        "rust:$V",
        "a//b",
        "[::1/x",
    ] {
        assert!(image_ref_problem(bad).is_some(), "{bad}");
    }
    let err = image_ref("rust:1.95\nRUN touch /x", "`--base-image`").unwrap_err();
    assert!(
        err.message().contains("`rust:1.95\\nRUN touch /x`"),
        "{err}"
    );
    assert!(err.message().contains("from `--base-image`"), "{err}");
    assert!(err.message().contains("control character"), "{err}");
    assert!(err
        .hint()
        .unwrap()
        .contains("[registry[:port]/]path[:tag][@digest]"));
}

#[test]
fn cargo_names_features_profiles() {
    assert!(cargo_name("my-bin_2", "x").is_ok());
    assert!(cargo_name("café", "x").is_ok());
    for bad in ["", "-x", "a b", "a/b", "a$b", "a\nb", "a'b"] {
        assert!(cargo_name(bad, "x").is_err(), "{bad}");
    }
    for good in [
        "ws-app",
        "ws-app@0.1.0",
        "ws-app:0.1.0",
        "ws-*",
        "serde@1.0.0-rc.1+x",
    ] {
        assert!(package_spec(good, "x").is_ok(), "{good}");
    }
    for bad in ["", "a b", "a@", "a@x;y", "https://x#a", "a\n"] {
        assert!(package_spec(bad, "x").is_err(), "{bad}");
    }
    for good in [
        "a",
        "a,b",
        "a b",
        "dep:x",
        "pkg/feat",
        "pkg?/feat",
        "x+y.z",
        "_a",
        "1x",
        "a,,b",
    ] {
        assert!(features(good, "x").is_ok(), "{good}");
    }
    for bad in ["a;b", "$x", "dep:", "/x", "a/", "-a", "a'b", "a\tb", "a=b"] {
        assert!(features(bad, "x").is_err(), "{bad}");
    }
    assert!(profile("ci-fast_2", "x").is_ok());
    for bad in ["", "-x", "a.b", "a b", "a/b"] {
        assert!(profile(bad, "x").is_err(), "{bad}");
    }
    assert!(jobs("4", "x").is_ok() && jobs("-1", "x").is_ok() && jobs("default", "x").is_ok());
    assert!(jobs("4;x", "x").is_err() && jobs("", "x").is_err() && jobs("-", "x").is_err());
    assert!(version("0.9.151", "x").is_ok() && version("1.0.0-rc.1", "x").is_ok());
    assert!(version("1 && x", "x").is_err() && version("x", "x").is_err());
}

#[test]
fn triples_and_packages() {
    for good in [
        "x86_64-unknown-linux-gnu",
        "wasm32-wasip1",
        "thumbv7em-none-eabihf",
        "i686-pc-windows-msvc",
    ] {
        assert!(target_triple(good, "x").is_ok(), "{good}");
    }
    for bad in [
        "",
        "x86",
        "-x-y",
        "my-spec.json",
        "a/b-c",
        "x86_64-linux gnu",
        "a-b\n",
    ] {
        assert!(target_triple(bad, "x").is_err(), "{bad}");
    }
    for good in [
        "libssl-dev",
        "g++",
        "libc6:arm64",
        "tzdata=2024a-0+deb12u1",
        "ca-certificates:amd64=1:2.3~x",
        "r8",
    ] {
        assert!(debian_package(good, "x").is_ok(), "{good}");
    }
    for bad in [
        "", "a", "Libssl", "-x", "lib_x", "a b", "x;y", "x:", "x=", "x=a", "x:AMD", "x\n",
    ] {
        assert!(debian_package(bad, "x").is_err(), "{bad}");
    }
    let err = debian_package("libssl-dev; rm -rf /", "`--apt`").unwrap_err();
    assert!(
        err.message().contains("is not a Debian package name"),
        "{err}"
    );
}

#[test]
fn paths_and_places() {
    for good in ["/app", "target", "../out", "a/b.c/d-e_f", "/x/@y+z%:~"] {
        assert!(path(good, "x").is_ok(), "{good}");
    }
    for bad in [
        "",
        "a b",
        "$HOME",
        "a,b",
        "a=b",
        "a\"b",
        "a'b",
        "a\\b",
        "a`b",
        "a*",
        "a?",
        "a[1]",
        "a\nb",
        "a\u{2028}b",
        "a\u{a0}b",
    ] {
        assert!(path(bad, "x").is_err(), "{bad}");
    }
    let err = path("a,b", "`build.target-dir` in `c.toml`").unwrap_err();
    assert!(
        err.message()
            .contains("`a,b` (from `build.target-dir` in `c.toml`)"),
        "{err}"
    );
    assert_eq!(Place::MountValue.problem("/usr/local/cargo/registry"), None);
    assert!(Place::MountValue.problem("/a,id=x").is_some());
    assert!(Place::MountValue.problem("a\"b").is_some());
    assert!(Place::MountValue.problem("").is_some());
    assert!(Place::EnvKey
        .problem("CARGO_PROFILE_CI_INCREMENTAL")
        .is_none());
    assert!(Place::EnvKey.problem("A-B").is_some());
    assert!(Place::User.problem("10001:10001").is_none());
    assert!(Place::User.problem("a b").is_some());
    assert!(Place::StageName.problem("build").is_none());
    assert!(Place::StageName.problem("Build").is_some());
    assert!(Place::Comment.problem("any `text` $x, 'quoted'").is_none());
    assert!(Place::Comment.problem("a\nRUN x").is_some());
    assert!(Place::Word.problem("a\rb").is_some());
    assert!(Place::Path.problem("/app/$HOME").is_some());
    assert!(text("ok text", "x").is_ok() && text("a\u{7}", "x").is_err());
    assert_eq!(shown("a\nb\tc"), "a\\nb\\tc");
}

#[test]
fn runtime_values() {
    assert_eq!(
        env_pair("A_1=x y=z", "x").unwrap(),
        ("A_1".into(), "x y=z".into())
    );
    for bad in ["A", "1A=x", "A-B=x", "=x", "A=x\ny"] {
        assert!(env_pair(bad, "x").is_err(), "{bad}");
    }
    assert_eq!(build_arg("GIT_SHA", "x").unwrap(), ("GIT_SHA".into(), None));
    assert_eq!(
        build_arg("P=a b", "x").unwrap(),
        ("P".into(), Some("a b".into()))
    );
    assert!(build_arg("a b", "x").is_err());
    for good in ["80", "8080/tcp", "53/udp", "65535"] {
        assert!(port(good, "x").is_ok(), "{good}");
    }
    for bad in ["0", "65536", "80/sctp", "x", "", "80-90", "8080 "] {
        assert!(port(bad, "x").is_err(), "{bad}");
    }
    for good in ["10001", "0:0", "10001:10001"] {
        assert!(user(good, "x").is_ok(), "{good}");
    }
    for bad in ["root", "1:", ":1", "1:2:3", "a b"] {
        assert!(user(bad, "x").is_err(), "{bad}");
    }
}
