use super::*;

fn err(text: &str) -> (Option<u64>, Option<u64>, String) {
    match parse("test.yml", text).unwrap_err() {
        ConfigError::Invalid {
            line,
            column,
            message,
            ..
        } => (line, column, message),
        other => panic!("unexpected error {other}"),
    }
}

#[test]
fn embedded_default_parses() {
    let c = load_default().unwrap();
    assert_eq!(c.host_interval(), Duration::from_secs(15));
    assert_eq!(c.process_interval(), Duration::from_secs(15));
    assert!(c.collectors.host.enabled);
    assert!(c.collectors.process.self_metrics);
    assert_eq!(c.storage.path, PathBuf::from("./data"));
    assert_eq!(c.web.listen_address.0, DEFAULT_LISTEN_ADDRESS);
    assert_eq!(
        c.storage.wal_fsync,
        WalFsync::Interval(Duration::from_secs(10))
    );
    assert_eq!(
        c.rule_packs,
        vec![RulePack::Host, RulePack::Warden, RulePack::Leak]
    );
}

#[test]
fn empty_file_and_empty_sections_take_defaults() {
    let c = parse("x", "").unwrap();
    assert_eq!(c.global.scrape_interval.get(), Duration::from_secs(60));
    let c = parse("x", "global:\ncollectors:\n  host:\nweb:\n").unwrap();
    assert_eq!(c.host_interval(), Duration::from_secs(60));
    assert_eq!(c.collectors.host.proc_path, PathBuf::from("/proc"));
}

#[test]
fn full_file_parses() {
    let c = parse(
        "x",
        r#"
global:
  scrape_interval: 30s
  evaluation_interval: 1m
  external_labels:
    region: eu-west-1
collectors:
  host:
    enabled: false
    interval: 5s
    proc_path: /host/proc
    sys_path: /host/sys
    rootfs_path: /host/root
  process:
    self: false
    groups:
      - name: nginx
        comm: [nginx]
      - name: api
        cmdline: 'java .*-jar api\.jar'
        pidfile: /run/api.pid
        cgroup: /system.slice/api.service
storage:
  path: /var/lib/warden
  retention_time: 2d
  retention_size: 512MB
  wal_fsync: always
web:
  listen_address: ":9659"
"#,
    )
    .unwrap();
    assert_eq!(c.host_interval(), Duration::from_secs(5));
    assert_eq!(c.process_interval(), Duration::from_secs(30));
    assert!(!c.collectors.host.enabled);
    assert_eq!(c.collectors.process.groups.len(), 2);
    assert_eq!(c.storage.retention_size, Some(ByteSize(512 << 20)));
    assert_eq!(c.storage.wal_fsync, WalFsync::Always);
    assert_eq!(c.web.listen_address.0, "0.0.0.0:9659");
    assert_eq!(
        c.global.external_labels.get(&LabelName("region".into())),
        Some(&"eu-west-1".to_string())
    );
}

#[test]
fn unknown_key_names_line_and_column() {
    let (line, col, msg) = err("global:\n  scrape_interval: 15s\n  scrape_intreval: 1m\n");
    assert_eq!(line, Some(3), "{msg}");
    assert_eq!(col, Some(3), "{msg}");
    assert!(msg.contains("scrape_intreval"), "{msg}");
}

#[test]
fn duplicate_key_is_an_error() {
    let (line, _, msg) = err("web:\n  listen_address: a:1\n  listen_address: b:2\n");
    assert_eq!(line, Some(3), "{msg}");
    assert!(msg.to_lowercase().contains("duplicate"), "{msg}");
    assert!(!msg.contains("DuplicateKeyPolicy"), "{msg}");
}

#[test]
fn bad_duration_is_located() {
    let (line, col, msg) = err("global:\n  scrape_interval: 15 seconds\n");
    assert_eq!(line, Some(2), "{msg}");
    assert_eq!(col, Some(20), "{msg}");
    assert!(msg.contains("not a valid duration"), "{msg}");
}

#[test]
fn later_sections_are_refused_not_ignored() {
    for section in ["scrape_configs", "alerting", "remote_write", "notify"] {
        let (line, _, msg) = err(&format!("web:\n  listen_address: a:1\n{section}:\n  - x\n"));
        assert!(msg.contains("not supported yet"), "{msg}");
        assert!(msg.contains(section), "{msg}");
        assert!(line.is_some(), "{msg}");
    }
}

#[test]
fn bad_values_are_refused() {
    let cases = [
        ("storage:\n  wal_fsync: sometimes\n", "wal_fsync"),
        (
            "storage:\n  retention_size: 12 apples\n",
            "not a valid size",
        ),
        ("storage:\n  retention_time: 0\n", "greater than 0"),
        ("web:\n  listen_address: localhost\n", "no port"),
        (
            "global:\n  external_labels:\n    1bad: x\n",
            "not a valid label name",
        ),
        (
            "collectors:\n  process:\n    groups:\n      - name: x\n",
            "selects nothing",
        ),
        (
            "collectors:\n  process:\n    groups:\n      - name: x\n        cmdline: '('\n",
            "not a valid regular expression",
        ),
        (
            "collectors:\n  process:\n    groups:\n      - {name: x, comm: [a]}\n      - {name: x, comm: [b]}\n",
            "duplicate group name",
        ),
    ];
    for (text, want) in cases {
        let (_, _, msg) = err(text);
        assert!(msg.contains(want), "{text:?}: got {msg:?}, want {want:?}");
    }
}

#[test]
fn display_leads_with_file_line_column() {
    let e = parse("conf/warden.yml", "web:\n  listen_adress: x:1\n").unwrap_err();
    let s = e.to_string();
    assert!(s.starts_with("conf/warden.yml:2:3: "), "{s}");
}

#[test]
fn documentation_shows_the_embedded_default_verbatim() {
    let doc = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../docs/configuration.md"
    ))
    .expect("docs/configuration.md");
    assert!(
        doc.contains(DEFAULT_YAML),
        "docs/configuration.md must quote agent/src/config/default.yml exactly"
    );
}

#[test]
fn rule_settings_in_prometheus_shapes() {
    let c = parse(
        "x",
        r#"
global:
  evaluation_interval: 30s
  rule_query_offset: 10s
  external_labels: {dc: eu1}
rule_files:
  - alerts.yml
  - "rules/*.yml"
rule_packs: [host, warden]
web:
  external_url: https://example.com/warden/
"#,
    )
    .unwrap();
    assert_eq!(c.global.evaluation_interval.get(), Duration::from_secs(30));
    assert_eq!(c.global.rule_query_offset.get(), Duration::from_secs(10));
    assert_eq!(
        c.rule_files,
        vec![
            RuleFilePattern("alerts.yml".into()),
            RuleFilePattern("rules/*.yml".into())
        ]
    );
    assert_eq!(c.rule_packs, vec![RulePack::Host, RulePack::Warden]);
    assert_eq!(c.web.external_url().0, "https://example.com/warden");
    let d = parse("x", "").unwrap();
    assert_eq!(d.global.rule_query_offset.get(), Duration::ZERO);
    assert!(d.rule_files.is_empty() && d.rule_packs.is_empty());
}

#[test]
fn rule_settings_errors_are_located() {
    let (line, col, msg) = err("rule_files:\n  - ok.yml\n  - \"*/bad.yml\"\n");
    assert_eq!((line, col), (Some(3), Some(5)), "{msg}");
    assert!(msg.contains("invalid rule file path"), "{msg}");
    let (line, _, msg) = err("rule_packs: [host, nginx]\n");
    assert_eq!(line, Some(1), "{msg}");
    assert!(msg.contains("nginx"), "{msg}");
    let (_, _, msg) = err("rule_packs: [host, host]\n");
    assert!(msg.contains("listed twice"), "{msg}");
    let (line, _, msg) = err("web:\n  external_url: example.com\n");
    assert_eq!(line, Some(2), "{msg}");
    assert!(msg.contains("external URL"), "{msg}");
}

#[test]
fn rule_files_are_relative_to_the_config_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("rules")).unwrap();
    std::fs::write(dir.path().join("rules/b.yml"), "groups: []\n").unwrap();
    std::fs::write(dir.path().join("rules/a.yml"), "groups: []\n").unwrap();
    let conf = dir.path().join("warden.yml");
    std::fs::write(&conf, "rule_files: [rules/*.yml, rules/a.yml]\n").unwrap();
    let c = load(&conf).unwrap();
    assert_eq!(
        c.rule_file_paths().unwrap(),
        vec![
            dir.path().join("rules/a.yml"),
            dir.path().join("rules/b.yml")
        ]
    );
}

#[test]
fn flags_win_over_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("warden.yml");
    std::fs::write(&conf, "web:\n  external_url: http://a.example\n").unwrap();
    let source = ConfigSource {
        file: Some(conf),
        external_url: Some("http://b.example:80/x/".into()),
        storage_path: Some(PathBuf::from("/tmp/d")),
        ..ConfigSource::default()
    };
    let c = source.load().unwrap();
    assert_eq!(c.web.external_url().0, "http://b.example/x");
    assert_eq!(c.storage.path, PathBuf::from("/tmp/d"));
    let bad = ConfigSource {
        external_url: Some("nope".into()),
        ..ConfigSource::default()
    };
    assert!(
        bad.load()
            .unwrap_err()
            .to_string()
            .starts_with("--web.external-url")
    );
}
