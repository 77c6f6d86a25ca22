//! `warden run` refuses a bad configuration with exit status 2 and a message
//! that names file, line and column.

mod common;

use common::{free_port, run_to_exit, write_config};

#[test]
fn unknown_key_exits_2_naming_file_line_column() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(
        dir.path(),
        "global:\n  scrape_interval: 15s\nweb:\n  listen_address: 127.0.0.1:1\n  listen_adress: typo\n",
    );
    let port = free_port().to_string();
    let (code, stderr) = run_to_exit(&[
        "run",
        "--config.file",
        cfg.to_str().unwrap(),
        "--web.listen-address",
        &format!("127.0.0.1:{port}"),
    ]);
    assert_eq!(code, Some(2), "stderr: {stderr}");
    let want = format!("{}:5:3:", cfg.display());
    assert!(stderr.contains(&want), "want {want:?} in {stderr:?}");
    assert!(stderr.contains("listen_adress"), "{stderr}");
}

#[test]
fn unsupported_section_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(dir.path(), "remote_write:\n  - url: http://x\n");
    let (code, stderr) = run_to_exit(&["run", "--config.file", cfg.to_str().unwrap()]);
    assert_eq!(code, Some(2), "stderr: {stderr}");
    assert!(stderr.contains("not supported yet"), "{stderr}");
    assert!(stderr.contains(&format!("{}:", cfg.display())), "{stderr}");
}

#[test]
fn missing_file_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope.yml");
    let (code, stderr) = run_to_exit(&["run", "--config.file", missing.to_str().unwrap()]);
    assert_eq!(code, Some(2), "stderr: {stderr}");
    assert!(stderr.contains("nope.yml"), "{stderr}");
}

#[test]
fn bad_listen_flag_exits_2() {
    let (code, stderr) = run_to_exit(&["run", "--web.listen-address", "no-port-here"]);
    assert_eq!(code, Some(2), "stderr: {stderr}");
    assert!(stderr.contains("--web.listen-address"), "{stderr}");
}

#[test]
fn missing_proc_path_exits_2_before_binding() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let cfg = write_config(
        dir.path(),
        &format!(
            "collectors:\n  host:\n    proc_path: {}\nstorage:\n  path: {}\n",
            dir.path().join("no-proc").display(),
            data.display()
        ),
    );
    let port = free_port().to_string();
    let (code, stderr) = run_to_exit(&[
        "run",
        "--config.file",
        cfg.to_str().unwrap(),
        "--web.listen-address",
        &format!("127.0.0.1:{port}"),
    ]);
    assert_eq!(code, Some(2), "stderr: {stderr}");
    assert!(stderr.contains("proc_path"), "{stderr}");
    assert!(!data.exists(), "the data directory was touched");
}
