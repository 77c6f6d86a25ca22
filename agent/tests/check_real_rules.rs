//! `warden check rules` against `promtool check rules` (Prometheus 2.42) on
//! real rule files: kube-prometheus's whole rule set and node_exporter's
//! example rules (`tests/fixtures/real-rules/`), broken variants of them,
//! and variants using what Prometheus 3 changed.
//!
//! Valid files must get promtool's output byte for byte (rule counts and
//! lint findings included). Broken files must be rejected by both, naming
//! the same problem, warden with its line and column. Where Prometheus 3
//! changed the format, warden follows 3 and the test says so file by file.

use std::path::{Path, PathBuf};
use std::process::Command;

/// What one run of a checker printed and returned.
#[derive(Debug)]
struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

/// Runs `program` in `dir` with `args` and then `files`.
fn run(dir: &Path, program: &Path, args: &[&str], files: &[&Path]) -> Run {
    let out = Command::new(program)
        .args(args)
        .args(files)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| panic!("run {}: {e}", program.display()));
    Run {
        code: out.status.code().expect("exited, not killed by a signal"),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn promtool_binary() -> &'static Path {
    let promtool = Path::new("/usr/bin/promtool");
    assert!(
        promtool.exists(),
        "promtool is not installed: install Debian's `prometheus` package (scripts/test does)"
    );
    promtool
}

fn warden_binary() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_warden"))
}

/// `promtool check rules ARGS FILES` in the fixture directory.
fn promtool(args: &[&str], files: &[&Path]) -> Run {
    let mut all = vec!["check", "rules"];
    all.extend_from_slice(args);
    run(&fixtures(), promtool_binary(), &all, files)
}

/// `warden check rules ARGS FILES` in the fixture directory.
fn warden(args: &[&str], files: &[&Path]) -> Run {
    let mut all = vec!["check", "rules"];
    all.extend_from_slice(args);
    run(&fixtures(), warden_binary(), &all, files)
}

/// The fixture directory; the checkers run inside it, so both print the
/// same relative paths.
fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/real-rules")
}

/// The `*.yml` files under `dir` (relative to the fixtures), sorted.
fn yaml_files(dir: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut pending = vec![PathBuf::from(dir)];
    while let Some(d) = pending.pop() {
        for entry in std::fs::read_dir(fixtures().join(&d)).expect("read fixture dir") {
            let name = entry.expect("dir entry").file_name();
            let rel = d.join(&name);
            if fixtures().join(&rel).is_dir() {
                pending.push(rel);
            } else if rel.extension().is_some_and(|e| e == "yml") {
                out.push(rel);
            }
        }
    }
    out.sort();
    out
}

/// `  SUCCESS: N rules found` lines, summed.
fn rules_found(stdout: &str) -> usize {
    stdout
        .lines()
        .filter_map(|l| l.strip_prefix("  SUCCESS: "))
        .filter_map(|l| l.strip_suffix(" rules found"))
        .map(|n| n.parse::<usize>().expect("a rule count"))
        .sum()
}

#[test]
fn every_real_rule_file_gets_promtools_verdict_and_output() {
    let files = yaml_files("rules");
    assert_eq!(files.len(), 9, "fixture files: {files:?}");
    let mut total = 0;
    for file in &files {
        let p = promtool(&[], &[file]);
        let w = warden(&[], &[file]);
        assert_eq!(p.code, 0, "promtool rejects {}: {p:?}", file.display());
        assert_eq!(w.code, p.code, "{}: {w:?}", file.display());
        assert_eq!(w.stdout, p.stdout, "{}", file.display());
        assert_eq!(w.stderr, p.stderr, "{}", file.display());
        // A file with a lint finding prints no count; without lints all do.
        let p = promtool(&["--lint=none"], &[file]);
        let w = warden(&["--lint=none"], &[file]);
        assert_eq!(w.stdout, p.stdout, "{}", file.display());
        total += rules_found(&w.stdout);
    }
    // kube-prometheus's 206 rules and node_exporter's 4.
    assert_eq!(total, 210);
}

#[test]
fn lint_flags_and_many_files_at_once_match_promtool() {
    let files = yaml_files("rules");
    let refs: Vec<&Path> = files.iter().map(PathBuf::as_path).collect();
    for flags in [
        &[][..],
        &["--lint=none"][..],
        &["--lint=all"][..],
        &["--lint-fatal"][..],
        &["--lint=none", "--lint-fatal"][..],
        &["--lint=bogus"][..],
    ] {
        let p = promtool(flags, &refs);
        let w = warden(flags, &refs);
        assert_eq!(w.code, p.code, "{flags:?}: {w:?}");
        assert_eq!(w.stdout, p.stdout, "{flags:?}");
        assert_eq!(w.stderr, p.stderr, "{flags:?}");
    }
    // kube-prometheus's control-plane rules record
    // code_verb:apiserver_request_total:increase1h four times with the same
    // labels: a lint problem, fatal only on request.
    let control_plane = Path::new("rules/kube-prometheus/kubernetesControlPlane.rules.yml");
    let w = warden(&["--lint-fatal"], &[control_plane]);
    assert_eq!(w.code, 3, "{w:?}");
    assert!(
        w.stderr.starts_with("  FAILED:\nlint error "),
        "{}",
        w.stderr
    );
}

/// A broken fixture, what promtool's message says about it, and what
/// warden's says and where.
struct Broken {
    file: &'static str,
    promtool_says: &'static str,
    warden_says: &'static str,
    warden_at: &'static str,
}

const BROKEN: &[Broken] = &[
    Broken {
        // promtool's YAML library says "line 1" for this one; warden names
        // the line where the bad indentation is.
        file: "broken/yaml-error.rules.yml",
        promtool_says: "did not find expected key",
        warden_says: "did not find expected key",
        warden_at: "15:4",
    },
    Broken {
        file: "broken/unknown-field.rules.yml",
        promtool_says: "line 5: field annotation not found in type rulefmt.RuleNode",
        warden_says: "unknown field `annotation`",
        warden_at: "5:5",
    },
    Broken {
        // promtool gives the place of the `|` and then the place inside the
        // expression; warden the first line of the expression's text.
        file: "broken/bad-expr.rules.yml",
        promtool_says: "could not parse expression: 5:1: parse error: unclosed left parenthesis",
        warden_says: "could not parse expression: unclosed left parenthesis",
        warden_at: "10:7",
    },
    Broken {
        // promtool gives no place for template problems.
        file: "broken/bad-template.rules.yml",
        promtool_says: "annotation \"summary\": template: __alert_KubeStateMetricsListErrors:1: unclosed action",
        warden_says: "annotation \"summary\": template: __alert_KubeStateMetricsListErrors:1: unclosed action",
        warden_at: "8:16",
    },
    Broken {
        // promtool points at the `name` key, warden at its value.
        file: "broken/duplicate-group.rules.yml",
        promtool_says: "40:3: groupname: \"general.rules\" is repeated in the same file",
        warden_says: "groupname: \"general.rules\" is repeated in the same file",
        warden_at: "40:9",
    },
];

#[test]
fn broken_variants_are_rejected_naming_the_same_problem() {
    let files = yaml_files("broken");
    assert_eq!(
        files.len(),
        BROKEN.len(),
        "one expectation per file: {files:?}"
    );
    for b in BROKEN {
        let file = Path::new(b.file);
        let p = promtool(&[], &[file]);
        let w = warden(&[], &[file]);
        assert_eq!(p.code, 1, "promtool accepts {}: {p:?}", b.file);
        assert_eq!(w.code, 1, "warden accepts {}: {w:?}", b.file);
        let checking = format!("Checking {}\n\n", b.file);
        assert_eq!(p.stdout, checking);
        assert_eq!(w.stdout, checking);
        assert!(p.stderr.starts_with("  FAILED:\n"), "{}", p.stderr);
        assert!(w.stderr.starts_with("  FAILED:\n"), "{}", w.stderr);
        assert!(
            p.stderr.contains(b.promtool_says),
            "promtool on {}: {}",
            b.file,
            p.stderr
        );
        let place = format!("{}: {}: ", b.file, b.warden_at);
        let line = w
            .stderr
            .lines()
            .find(|l| l.contains(b.warden_says))
            .unwrap_or_else(|| panic!("warden on {}: {}", b.file, w.stderr));
        assert!(line.starts_with(&place), "{line:?} should start {place:?}");
    }
}

/// How a Prometheus 3 variant goes: promtool 2.42's verdict and message,
/// and warden's (which follows Prometheus 3).
struct Prometheus3 {
    file: &'static str,
    promtool_accepts: bool,
    promtool_says: &'static str,
    warden_accepts: bool,
    warden_says: &'static str,
}

const PROMETHEUS3: &[Prometheus3] = &[
    Prometheus3 {
        // Group labels arrived in Prometheus 3.0.
        file: "prometheus3/group-labels.rules.yml",
        promtool_accepts: false,
        promtool_says: "line 3: field labels not found in type rulefmt.RuleGroup",
        warden_accepts: true,
        warden_says: "  SUCCESS: 4 rules found",
    },
    Prometheus3 {
        // Per-group query offsets arrived in Prometheus 2.53/3.0.
        file: "prometheus3/query-offset.rules.yml",
        promtool_accepts: false,
        promtool_says: "line 3: field query_offset not found in type rulefmt.RuleGroup",
        warden_accepts: true,
        warden_says: "  SUCCESS: 4 rules found",
    },
    Prometheus3 {
        // Quoted (UTF-8) metric names in selectors are Prometheus 3 PromQL.
        file: "prometheus3/utf8-selector.rules.yml",
        promtool_accepts: false,
        promtool_says: "in label matching, expected identifier or \"}\"",
        warden_accepts: true,
        warden_says: "  SUCCESS: 4 rules found",
    },
    Prometheus3 {
        // Prometheus 3 removed holt_winters (it is double_exponential_smoothing
        // now), so a file using it no longer loads there, nor in warden.
        file: "prometheus3/holt-winters.rules.yml",
        promtool_accepts: true,
        promtool_says: "  SUCCESS: 5 rules found",
        warden_accepts: false,
        warden_says: "prometheus3/holt-winters.rules.yml: 18:11: group \"example-node-exporter-rules\", rule 4, \"instance:node_load1:holt_winters\": could not parse expression: unknown function with name \"holt_winters\"",
    },
];

#[test]
fn where_prometheus_3_changed_the_format_warden_follows_3() {
    let files = yaml_files("prometheus3");
    assert_eq!(
        files.len(),
        PROMETHEUS3.len(),
        "one expectation per file: {files:?}"
    );
    for c in PROMETHEUS3 {
        let file = Path::new(c.file);
        let p = promtool(&[], &[file]);
        let w = warden(&[], &[file]);
        assert_eq!(
            p.code == 0,
            c.promtool_accepts,
            "promtool on {}: {p:?}",
            c.file
        );
        assert_eq!(w.code == 0, c.warden_accepts, "warden on {}: {w:?}", c.file);
        let p_text = if c.promtool_accepts {
            &p.stdout
        } else {
            &p.stderr
        };
        let w_text = if c.warden_accepts {
            &w.stdout
        } else {
            &w.stderr
        };
        assert!(
            p_text.contains(c.promtool_says),
            "promtool on {}: {p:?}",
            c.file
        );
        assert!(
            w_text.contains(c.warden_says),
            "warden on {}: {w:?}",
            c.file
        );
    }
}

/// Runs `check config` of both tools in `dir` on a `prometheus.yml` and a
/// `warden.yml` with the same `rule_files`.
fn check_config_both(dir: &Path, rule_files: &[&str], flags: &[&str]) -> (Run, Run) {
    let mut yaml = String::from("rule_files:\n");
    for f in rule_files {
        yaml.push_str(&format!("  - {f:?}\n"));
    }
    std::fs::write(dir.join("prometheus.yml"), &yaml).expect("write prometheus.yml");
    std::fs::write(dir.join("warden.yml"), &yaml).expect("write warden.yml");
    let go = |program: &Path, config: &str| {
        let mut args = vec!["check", "config"];
        args.extend_from_slice(flags);
        args.push(config);
        run(dir, program, &args, &[])
    };
    (
        go(promtool_binary(), "prometheus.yml"),
        go(warden_binary(), "warden.yml"),
    )
}

#[test]
fn check_config_checks_the_rule_files_it_names_as_promtool_does() {
    let dir = tempfile::tempdir().expect("temp dir");
    for sub in ["rules", "broken"] {
        std::os::unix::fs::symlink(fixtures().join(sub), dir.path().join(sub))
            .expect("link fixtures");
    }
    let same_but_name = |p: &Run, w: &Run| {
        let p_out = p
            .stdout
            .replace("Checking prometheus.yml", "Checking warden.yml")
            .replace(
                "prometheus.yml is valid prometheus config file syntax",
                "warden.yml is valid warden config file syntax",
            );
        assert_eq!(w.code, p.code, "{w:?}");
        assert_eq!(w.stdout, p_out);
    };

    // Valid files, a glob and a plain path: identical reports.
    let valid = [
        "rules/kube-prometheus/*.yml",
        "rules/node_exporter/example-rules.yml",
    ];
    for flags in [&[][..], &["--lint-fatal"][..], &["--syntax-only"][..]] {
        let (p, w) = check_config_both(dir.path(), &valid, flags);
        same_but_name(&p, &w);
        assert_eq!(w.stderr, p.stderr, "{flags:?}");
    }
    let (p, w) = check_config_both(dir.path(), &valid, &[]);
    assert!(
        p.stdout.contains("  SUCCESS: 9 rule files found\n"),
        "{p:?}"
    );
    assert_eq!(w.code, 0);

    // Broken files: the same verdict per file.
    let (p, w) = check_config_both(dir.path(), &["broken/*.yml"], &[]);
    same_but_name(&p, &w);
    assert_eq!(p.code, 1);
    assert_eq!(
        w.stderr.matches("  FAILED:\n").count(),
        p.stderr.matches("  FAILED:\n").count(),
        "{w:?}"
    );

    // A plain path naming no file fails the configuration itself.
    let (p, w) = check_config_both(dir.path(), &["rules/missing.yml"], &[]);
    same_but_name(&p, &w);
    assert_eq!(w.code, 1);
    assert_eq!(w.stderr, p.stderr);
    assert_eq!(
        w.stderr,
        "  FAILED: \"rules/missing.yml\" does not point to an existing file\n"
    );
}
