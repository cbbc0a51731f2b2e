//! `svault bao` against a real 3-node OpenBao Raft cluster on 127.0.0.1 (see
//! tests/bao_cluster): the ceremony, the drill, checked unseal with named wrong keys,
//! and the bad inputs of the design's table, each shown to change nothing on the node.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod bao_cluster;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use bao_cluster::{Cluster, bao_binary, http, http_as};
use svault::share::unseal_key;

fn svault(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_svault"))
        .args(args)
        .env_remove("BAO_ADDR")
        .env_remove("VAULT_ADDR")
        .output()
        .expect("run svault")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// Line 1 of a key file.
fn key_line(path: &Path) -> String {
    fs::read_to_string(path)
        .unwrap()
        .lines()
        .next()
        .unwrap()
        .to_owned()
}

/// A copy of `from` at `to` with one hex digit of the value changed (a typo).
fn mistype(from: &Path, to: &Path) {
    let mut line: Vec<u8> = key_line(from).into_bytes();
    line[10] = if line[10] == b'0' { b'1' } else { b'0' };
    fs::write(to, [line, b"\n".to_vec()].concat()).unwrap();
}

struct Initialised {
    cluster: Cluster,
    record: PathBuf,
    keys: Vec<PathBuf>,
    root_token: String,
    init_output: String,
}

const OFFICERS: [&str; 5] = ["alice", "bob", "carol", "dave", "erin"];

fn init_cluster(bin: &Path) -> Initialised {
    let cluster = Cluster::start(bin, 3, true);
    let dir = cluster.dir.path().to_path_buf();
    let keys_dir = dir.join("keys");
    fs::create_dir(&keys_dir).unwrap();
    let record = dir.join("cluster.record");
    let token = dir.join("root.token");
    // The vault that will hold K for the agent: one officer, 1 of 1.
    let vault = dir.join("ops.svault");
    let out = svault(&[
        "init",
        p(&vault),
        "--threshold",
        "1",
        "--officer",
        "ops",
        "--shares-out",
        p(&dir),
    ]);
    assert!(out.status.success(), "svault init: {}", text(&out.stderr));
    let mut args = vec!["bao".to_owned(), "init".into(), p(&record).into()];
    for node in &cluster.nodes {
        args.extend(["--addr".into(), node.url()]);
    }
    args.extend(["--threshold".into(), "3".into()]);
    for officer in OFFICERS {
        args.extend(["--officer".into(), officer.into()]);
    }
    args.extend([
        "--shares-out".into(),
        p(&keys_dir).into(),
        "--root-token-out".into(),
        p(&token).into(),
        "--vault".into(),
        p(&vault).into(),
        "--share-file".into(),
        p(&dir.join("ops.share")).into(),
    ]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = svault(&args);
    assert!(
        out.status.success(),
        "init failed: {}\n{}",
        text(&out.stderr),
        cluster.log(0)
    );
    let root_token = fs::read_to_string(&token).unwrap().trim().to_owned();
    assert_eq!(
        fs::metadata(&token).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let keys = OFFICERS
        .iter()
        .map(|o| keys_dir.join(format!("{o}.key")))
        .collect();
    Initialised {
        cluster,
        record,
        keys,
        root_token,
        init_output: format!("{}{}", text(&out.stdout), text(&out.stderr)),
    }
}

/// The ceremony and everything after it, on one cluster (started once: OpenBao nodes
/// take seconds to start).
#[test]
fn cluster_ceremony_drill_and_checked_unseal() {
    let Some(bin) = bao_binary() else { return };
    let Initialised {
        mut cluster,
        record,
        keys,
        root_token,
        init_output,
    } = init_cluster(&bin);

    // Every node was unsealed by the ceremony.
    for i in 0..3 {
        cluster.wait_sealed(i, false);
    }
    assert!(root_token.starts_with("s."), "not a root token");

    // Key files: 0600, line 1 exactly 66 lowercase hex characters, the rest comments.
    let mut hex_keys = Vec::new();
    for path in &keys {
        assert_eq!(
            fs::metadata(path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        let body = fs::read_to_string(path).unwrap();
        let line = key_line(path);
        assert_eq!(line.len(), 66);
        assert!(
            line.bytes()
                .all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c))
        );
        assert!(
            body.lines()
                .skip(1)
                .all(|l| l.is_empty() || l.starts_with('#'))
        );
        hex_keys.push(line);
    }
    // No key and no token in RECORD or in anything printed.
    let record_text = fs::read_to_string(&record).unwrap();
    for secret in hex_keys.iter().chain([&root_token]) {
        assert!(!record_text.contains(secret.as_str()));
        assert!(!init_output.contains(secret.as_str()));
        assert!(!record_text.contains(&secret[..64.min(secret.len())]));
    }
    let record_json: serde_json::Value = serde_json::from_str(&record_text).unwrap();
    assert_eq!(record_json["threshold"], 3);
    assert!(record_json["cluster"]["id"].is_string());

    // The keys combine independently: every 3 of the 5 give one K.
    let shares: Vec<_> = hex_keys
        .iter()
        .map(|k| unseal_key::parse(k).unwrap())
        .collect();
    let k = {
        let first = [0usize, 1, 2].map(|i| copy(&shares[i]));
        unseal_key::combine(&first).unwrap().to_vec()
    };
    for a in 0..5 {
        for b in a + 1..5 {
            for c in b + 1..5 {
                let set = [a, b, c].map(|i| copy(&shares[i]));
                assert_eq!(unseal_key::combine(&set).unwrap().to_vec(), k);
            }
        }
    }

    // ... and unseal a restarted follower when submitted by plain HTTP.
    cluster.restart(2);
    cluster.wait_sealed(2, true);
    wait_initialised(&cluster, 2);
    for key in &hex_keys[2..5] {
        let (status, _) = http(
            cluster.nodes[2].api_port,
            "PUT",
            "/v1/sys/unseal",
            &format!("{{\"key\":\"{key}\"}}"),
        )
        .unwrap();
        assert_eq!(status, 200);
    }
    cluster.wait_sealed(2, false);

    // The drill, offline.
    for (officer, path) in OFFICERS.iter().zip(&keys) {
        let out = svault(&["bao", "verify", p(&record), "--key-file", p(path)]);
        assert!(out.status.success(), "{}", text(&out.stderr));
        assert_eq!(text(&out.stdout), format!("{officer}\n"));
    }
    let dir = cluster.dir.path().to_path_buf();
    let typo = dir.join("bob-typo.key");
    mistype(&keys[1], &typo);
    let out = svault(&["bao", "verify", p(&record), "--key-file", p(&typo)]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(err.contains("not officer bob's key"), "{err}");
    assert!(!err.contains(&key_line(&typo)[..20]));
    // A key of another split at an x the record lacks.
    let foreign = dir.join("foreign.key");
    let used: Vec<u8> = shares.iter().map(|s| s.x()).collect();
    let x = (1..=255u8).find(|x| !used.contains(x)).unwrap();
    fs::write(&foreign, format!("{}{x:02x}\n", "ab".repeat(32))).unwrap();
    let out = svault(&["bao", "verify", p(&record), "--key-file", p(&foreign)]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("not a key of this record"));

    // A restarted leader-or-follower, and wrong keys named before anything is sent.
    cluster.restart(1);
    cluster.wait_sealed(1, true);
    wait_initialised(&cluster, 1);
    let node = cluster.nodes[1].url();
    let before = cluster.seal_status(1);
    assert_eq!(before["progress"], 0);
    // A key of another cluster at an officer's x (same x as carol, other value).
    let other_cluster = dir.join("other-cluster.key");
    fs::write(
        &other_cluster,
        format!("{}{:02x}\n", "cd".repeat(32), shares[2].x()),
    )
    .unwrap();
    let duplicate = dir.join("alice-again.key");
    fs::copy(&keys[0], &duplicate).unwrap();
    let cases: [(&[&Path], &str); 3] = [
        (&[&keys[0], &typo, &keys[3]], "not officer bob's key"),
        (&[&keys[0], &other_cluster], "not officer carol's key"),
        (
            &[&keys[0], &keys[3], &duplicate],
            "officer alice's key was already given",
        ),
    ];
    for (files, expected) in cases {
        let mut args = vec!["bao", "unseal", p(&record), "--addr", &node];
        for f in files {
            args.extend(["--key-file", p(f)]);
        }
        let out = svault(&args);
        assert_eq!(out.status.code(), Some(1), "{expected}");
        let err = text(&out.stderr);
        assert!(err.contains(expected), "{err}");
        assert!(err.contains("no key was sent"), "{err}");
        assert!(out.stdout.is_empty());
        let after = cluster.seal_status(1);
        assert_eq!(
            after["progress"], before["progress"],
            "{expected}: progress changed"
        );
        assert_eq!(after["sealed"], true);
    }
    // An older split's key is not there yet (no rotation); too few keys: progress shown.
    let out = svault(&[
        "bao",
        "unseal",
        p(&record),
        "--addr",
        &node,
        "--key-file",
        p(&keys[0]),
        "--key-file",
        p(&keys[4]),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        format!("{}: 2 of 3\n", cluster.nodes[1].name())
    );
    assert_eq!(cluster.seal_status(1)["progress"], 2);
    // The third officer, in hex or base64: unsealed.
    let out = svault(&[
        "bao",
        "unseal",
        p(&record),
        "--addr",
        &node,
        "--key-file",
        p(&keys[3]),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        format!("{}: unsealed\n", cluster.nodes[1].name())
    );
    assert_eq!(cluster.seal_status(1)["sealed"], false);

    // All three nodes at once after a restart of two; the third reports already unsealed.
    cluster.restart(0);
    cluster.restart(2);
    wait_initialised(&cluster, 0);
    wait_initialised(&cluster, 2);
    let (u0, u1, u2) = (
        cluster.nodes[0].url(),
        cluster.nodes[1].url(),
        cluster.nodes[2].url(),
    );
    let out = svault(&[
        "bao",
        "unseal",
        p(&record),
        "--addr",
        &u0,
        "--addr",
        &u1,
        "--addr",
        &u2,
        "--key-file",
        p(&keys[1]),
        "--key-file",
        p(&keys[2]),
        "--key-file",
        p(&keys[4]),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains(&format!("{}: unsealed", cluster.nodes[0].name())),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!("{}: already unsealed", cluster.nodes[1].name())),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!("{}: unsealed", cluster.nodes[2].name())),
        "{stdout}"
    );
    for i in 0..3 {
        assert_eq!(cluster.seal_status(i)["sealed"], false);
    }

    // K and the root token are in the vault; K is what the officers' keys combine to.
    let get = |name: &str| {
        let out = svault(&[
            "get",
            p(&dir.join("ops.svault")),
            name,
            "--share-file",
            p(&dir.join("ops.share")),
        ]);
        assert!(out.status.success(), "{}", text(&out.stderr));
        text(&out.stdout)
    };
    let k_hex: String = k.iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(get("bao/unseal-key").trim_end(), k_hex);
    assert_eq!(get("bao/root-token").trim_end(), root_token);

    // The agent keeps the cluster unsealed: a killed and restarted node comes back
    // with no one typing; sealing the agent stops it.
    agent_keeps_the_cluster_unsealed(&mut cluster, &dir, &k_hex, &hex_keys);

    // add-officer: frank's key, from a threshold of keys, unseals with two old ones;
    // the others' keys are unchanged (they still verify).
    let out = svault(&[
        "bao",
        "add-officer",
        p(&record),
        "frank",
        "--key-file",
        p(&keys[0]),
        "--key-file",
        p(&keys[1]),
        "--key-file",
        p(&typo),
        "--shares-out",
        p(&dir),
    ]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "a mistyped key must stop add-officer"
    );
    assert!(text(&out.stderr).contains("not officer bob's key"));
    assert!(!dir.join("frank.key").exists());
    assert_eq!(fs::read_to_string(&record).unwrap(), record_text);
    let out = svault(&[
        "bao",
        "add-officer",
        p(&record),
        "frank",
        "--key-file",
        p(&keys[0]),
        "--key-file",
        p(&keys[2]),
        "--key-file",
        p(&keys[4]),
        "--shares-out",
        p(&dir),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let frank = dir.join("frank.key");
    let out = svault(&["bao", "verify", p(&record), "--key-file", p(&frank)]);
    assert_eq!(text(&out.stdout), "frank\n");
    for (officer, path) in OFFICERS.iter().zip(&keys) {
        let out = svault(&["bao", "verify", p(&record), "--key-file", p(path)]);
        assert_eq!(text(&out.stdout), format!("{officer}\n"));
    }
    cluster.restart(1);
    wait_initialised(&cluster, 1);
    let u1 = cluster.nodes[1].url();
    let out = svault(&[
        "bao",
        "unseal",
        p(&record),
        "--addr",
        &u1,
        "--key-file",
        p(&frank),
        "--key-file",
        p(&keys[1]),
        "--key-file",
        p(&keys[3]),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        format!("{}: unsealed\n", cluster.nodes[1].name())
    );

    // Status.
    let out = svault(&["bao", "status", p(&record), "--addr", &u0, "--json"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let status: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(status["threshold"], 3);
    assert_eq!(status["officers"].as_array().unwrap().len(), 6);
    assert_eq!(status["nodes"][0]["sealed"], false);

    // init again on an initialised cluster: refused, nothing written.
    let again = dir.join("again.record");
    let out = svault(&[
        "bao",
        "init",
        p(&again),
        "--addr",
        &u0,
        "--threshold",
        "2",
        "--officer",
        "zed",
        "--officer",
        "yan",
        "--shares-out",
        p(&dir),
        "--root-token-out",
        p(&dir.join("again.token")),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("already initialised"));
    assert!(!again.exists() && !dir.join("zed.key").exists() && !dir.join("again.token").exists());

    // A restarted node's return can move Raft's leadership; a rotation started in that
    // window is refused by OpenBao ("node is not the leader") and cancelled by svault,
    // which is not what this part tests.
    wait_settled(&cluster);
    rotate_into_a_new_split(&mut cluster, &dir, &record, &keys, &frank, &root_token);
}

/// Waits (up to 30 s) until every node names the same active node, twice in a row
/// a second apart.
fn wait_settled(cluster: &Cluster) {
    let leader = || {
        let seen: Vec<String> = (0..cluster.nodes.len())
            .map(|i| {
                http(cluster.nodes[i].api_port, "GET", "/v1/sys/leader", "")
                    .map(|(_, body)| body["leader_address"].as_str().unwrap_or("").to_owned())
                    .unwrap_or_default()
            })
            .collect();
        let first = seen[0].clone();
        (!first.is_empty() && seen.iter().all(|s| *s == first)).then_some(first)
    };
    let start = std::time::Instant::now();
    while start.elapsed() < std::time::Duration::from_secs(30) {
        if let Some(a) = leader() {
            std::thread::sleep(std::time::Duration::from_secs(1));
            if leader() == Some(a) {
                return;
            }
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    panic!("the cluster never agreed on an active node");
}

/// Whether a root-key rotation is under way on node `i`.
fn rotation_started(cluster: &Cluster, i: usize, token: &str) -> bool {
    let (status, body) = http_as(
        cluster.nodes[i].api_port,
        "GET",
        "/v1/sys/rotate/root/init",
        "",
        Some(token),
    )
    .unwrap();
    assert_eq!(status, 200, "{body}");
    body["data"]["started"] == true
}

/// `bao rotate`: bad inputs refused before anything is sent; a rotation OpenBao
/// refuses is cancelled; then a rotation into a 2-of-3 split whose keys unseal a
/// restarted node, while every old key is named as retired and never sent.
fn rotate_into_a_new_split(
    cluster: &mut Cluster,
    dir: &Path,
    record: &Path,
    keys: &[PathBuf],
    frank: &Path,
    root_token: &str,
) {
    let u0 = cluster.nodes[0].url();
    let (u1, u2) = (cluster.nodes[1].url(), cluster.nodes[2].url());
    let token = dir.join("root.token");
    let before = fs::read_to_string(record).unwrap();
    let new_dir = dir.join("rotated");
    fs::create_dir(&new_dir).unwrap();
    let rotate = |record: &Path, files: &[&Path], extra: &[&str]| {
        let mut args = vec![
            "bao",
            "rotate",
            p(record),
            "--addr",
            &u0,
            "--addr",
            &u1,
            "--addr",
            &u2,
            "--token-file",
            p(&token),
            "--shares-out",
            p(&new_dir),
        ];
        for f in files {
            args.extend(["--key-file", p(f)]);
        }
        args.extend(extra);
        svault(&args)
    };
    let nothing_changed = |cluster: &Cluster| {
        assert_eq!(fs::read_to_string(record).unwrap(), before);
        assert_eq!(
            fs::read_dir(&new_dir).unwrap().count(),
            0,
            "files left behind"
        );
        assert!(!rotation_started(cluster, 0, root_token));
    };

    // A mistyped key, and too few keys: refused before anything is sent.
    let typo = dir.join("rotate-typo.key");
    mistype(&keys[1], &typo);
    let out = rotate(record, &[&keys[0], &typo, &keys[2]], &[]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.contains("not officer bob's key") && err.contains("no key was sent"),
        "{err}"
    );
    nothing_changed(cluster);
    let out = rotate(record, &[&keys[0], &keys[2]], &[]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(
        err.contains("threshold is 3") && err.contains("nothing was sent"),
        "{err}"
    );
    nothing_changed(cluster);

    // A record whose keys match it but are not this cluster's (same cluster id and
    // threshold): OpenBao refuses them at its threshold, svault cancels the rotation.
    let record_json: serde_json::Value = serde_json::from_str(&before).unwrap();
    let names: Vec<String> = ["alice", "bob", "carol"].map(String::from).to_vec();
    let stranger = svault::bao::key::split(&[0x42; 32], 3, &names).unwrap();
    let mut wrong = svault::bao::Record::new(
        3,
        svault::bao::record::Cluster {
            id: record_json["cluster"]["id"].as_str().map(String::from),
            name: None,
        },
        stranger
            .iter()
            .map(|i| svault::bao::record::OfficerEntry::commit(&i.officer, &i.key))
            .collect(),
    );
    wrong.created = "2026-01-01".into();
    let wrong_record = dir.join("wrong.record");
    fs::write(&wrong_record, wrong.to_json()).unwrap();
    let mut wrong_keys = Vec::new();
    for issued in &stranger {
        let path = dir.join(format!("stranger-{}.key", issued.officer));
        fs::write(
            &path,
            svault::bao::key::file_text(&issued.officer, &issued.key, None).as_str(),
        )
        .unwrap();
        wrong_keys.push(path);
    }
    let files: Vec<&Path> = wrong_keys.iter().map(PathBuf::as_path).collect();
    let out = rotate(&wrong_record, &files, &[]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(err.contains("refused the current keys"), "{err}");
    assert!(err.contains("rotation was cancelled"), "{err}");
    assert_eq!(fs::read_to_string(&wrong_record).unwrap(), wrong.to_json());
    nothing_changed(cluster);

    // The rotation: alice, bob and carol, 2 of 3; the vault's copy of K replaced.
    let out = rotate(
        record,
        &[&keys[0], frank, &keys[3]],
        &[
            "--threshold",
            "2",
            "--officer",
            "alice",
            "--officer",
            "bob",
            "--officer",
            "carol",
            "--vault",
            p(&dir.join("ops.svault")),
            "--share-file",
            p(&dir.join("ops.share")),
        ],
    );
    assert!(
        out.status.success(),
        "{}\n{}",
        text(&out.stderr),
        cluster.log(0)
    );
    let stdout = text(&out.stdout);
    assert!(stdout.contains("rotated"), "{stdout}");
    assert!(!rotation_started(cluster, 0, root_token));
    let new_keys: Vec<PathBuf> = ["alice", "bob", "carol"]
        .iter()
        .map(|o| new_dir.join(format!("{o}.key")))
        .collect();
    let new_hex: Vec<String> = new_keys.iter().map(|k| key_line(k)).collect();
    for (officer, path) in ["alice", "bob", "carol"].iter().zip(&new_keys) {
        assert_eq!(
            fs::metadata(path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        let out = svault(&["bao", "verify", p(record), "--key-file", p(path)]);
        assert_eq!(
            text(&out.stdout),
            format!("{officer}\n"),
            "{}",
            text(&out.stderr)
        );
    }
    let after: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(record).unwrap()).unwrap();
    assert_eq!(after["threshold"], 2);
    assert_eq!(after["cluster"]["id"], record_json["cluster"]["id"]);
    assert_eq!(after["retired"][0]["threshold"], 3);
    assert_eq!(after["retired"][0]["officers"], record_json["officers"]);
    let date = after["retired"][0]["retired"].as_str().unwrap().to_owned();
    let record_text = fs::read_to_string(record).unwrap();
    for key in &new_hex {
        assert!(!record_text.contains(&key[..64]) && !stdout.contains(&key[..64]));
    }
    // The new K is in the vault: what the new keys combine to.
    let combined: Vec<_> = new_hex[..2]
        .iter()
        .map(|k| unseal_key::parse(k).unwrap())
        .collect();
    let k_new: String = unseal_key::combine(&combined)
        .unwrap()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let out = svault(&[
        "get",
        p(&dir.join("ops.svault")),
        "bao/unseal-key",
        "--share-file",
        p(&dir.join("ops.share")),
    ]);
    assert_eq!(text(&out.stdout).trim_end(), k_new);

    // Every old key is named as from before the rotation, and never sent.
    for (officer, path) in OFFICERS.iter().zip(keys) {
        let out = svault(&["bao", "verify", p(record), "--key-file", p(path)]);
        assert_eq!(out.status.code(), Some(1));
        let err = text(&out.stderr);
        assert!(
            err.contains(&format!(
                "officer {officer}'s key from before the rotation on {date}"
            )),
            "{err}"
        );
    }
    cluster.restart(1);
    wait_initialised(cluster, 1);
    let u1 = cluster.nodes[1].url();
    let out = svault(&[
        "bao",
        "unseal",
        p(record),
        "--addr",
        &u1,
        "--key-file",
        p(&new_keys[0]),
        "--key-file",
        p(&keys[1]),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.contains(&format!(
            "officer bob's key from before the rotation on {date}"
        )) && err.contains("no key was sent"),
        "{err}"
    );
    assert_eq!(cluster.seal_status(1)["progress"], 0);
    assert_eq!(cluster.seal_status(1)["sealed"], true);

    // The new keys unseal the restarted node; the node now needs 2.
    let out = svault(&[
        "bao",
        "unseal",
        p(record),
        "--addr",
        &u1,
        "--key-file",
        p(&new_keys[2]),
        "--key-file",
        p(&new_keys[0]),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        format!("{}: unsealed\n", cluster.nodes[1].name())
    );
    assert_eq!(cluster.seal_status(1)["t"], 2);

    // The agent, holding the rotated K from the vault, unseals a restarted node (now at
    // threshold 2) with no one typing.
    let (agent, socket, _) = start_agent(cluster, dir, "agent-rotated");
    let out = svault(&[
        "unseal",
        "--socket",
        p(&socket),
        "--share-file",
        p(&dir.join("ops.share")),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    cluster.restart(2);
    cluster.wait_sealed(2, false);
    drop(agent);
}

fn copy(share: &svault::shamir::Share) -> svault::shamir::Share {
    svault::shamir::Share::new(share.x(), share.y().to_vec())
}

fn wait_initialised(cluster: &Cluster, i: usize) {
    let start = std::time::Instant::now();
    while start.elapsed() < std::time::Duration::from_secs(30) {
        if cluster.seal_status(i)["initialized"] == true {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    panic!("node {i} never reported initialised");
}

/// Nodes that cannot take keys are named, and nothing is written or sent: unreachable,
/// not initialised (not joined), and a TLS failure.
#[test]
fn unreachable_unjoined_and_tls_failures_are_named() {
    let Some(bin) = bao_binary() else { return };
    // One standalone node that nobody initialises: "not joined".
    let lone = Cluster::start(&bin, 1, false);
    let dir = lone.dir.path().to_path_buf();
    // A record to unseal with: made by the library for a split of a random K.
    let k = [0x11u8; 32];
    let names = vec!["alice".to_owned(), "bob".to_owned()];
    let issued = svault::bao::key::split(&k, 2, &names).unwrap();
    let entries = issued
        .iter()
        .map(|i| svault::bao::record::OfficerEntry::commit(&i.officer, &i.key))
        .collect();
    let record = svault::bao::Record::new(2, Default::default(), entries);
    let record_path = dir.join("r.record");
    fs::write(&record_path, record.to_json()).unwrap();
    let key_path = dir.join("alice.key");
    fs::write(
        &key_path,
        svault::bao::key::file_text("alice", &issued[0].key, None).as_str(),
    )
    .unwrap();

    let url = lone.nodes[0].url();
    let out = svault(&[
        "bao",
        "unseal",
        p(&record_path),
        "--addr",
        &url,
        "--key-file",
        p(&key_path),
        "--wait",
        "1",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.contains(&lone.nodes[0].name()) && err.contains("not initialised"),
        "{err}"
    );
    assert_eq!(lone.seal_status(0)["initialized"], false);

    // Unreachable: a closed port.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let out = svault(&[
        "bao",
        "unseal",
        p(&record_path),
        "--addr",
        &format!("http://127.0.0.1:{closed}"),
        "--key-file",
        p(&key_path),
        "--wait",
        "1",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.contains(&format!("127.0.0.1:{closed}")) && err.contains("cannot reach"),
        "{err}"
    );

    // TLS failure: https to a plain-http listener.
    let https = format!("https://127.0.0.1:{}", lone.nodes[0].api_port);
    let out = svault(&["bao", "status", p(&record_path), "--addr", &https]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stdout).is_empty());
    let err = text(&out.stderr);
    assert!(err.contains("cannot reach"), "{err}");

    // init where a key file already exists: refused before sending.
    let keys = dir.join("keys");
    fs::create_dir(&keys).unwrap();
    fs::write(keys.join("zed.key"), "x").unwrap();
    let (new_record, token_out) = (dir.join("new.record"), dir.join("t"));
    let init = |threshold: &str, officers: &[&str]| {
        let mut args = vec![
            "bao",
            "init",
            p(&new_record),
            "--addr",
            &url,
            "--threshold",
            threshold,
        ];
        for officer in officers {
            args.extend(["--officer", officer]);
        }
        args.extend(["--shares-out", p(&keys), "--root-token-out", p(&token_out)]);
        svault(&args)
    };
    let out = init("2", &["zed", "yan"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("already exists"));
    assert_eq!(lone.seal_status(0)["initialized"], false, "init was sent");
    assert!(!dir.join("new.record").exists() && !dir.join("t").exists());

    // A threshold of 1 (OpenBao would make K itself the only key, which svault's keys
    // cannot be): refused before sending, where it used to initialise OpenBao and then
    // fail with the node's keys lost.
    let out = init("1", &["xan"]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(err.contains("threshold of 1"), "{err}");
    assert!(err.contains("nothing was sent"), "{err}");
    assert_eq!(lone.seal_status(0)["initialized"], false, "init was sent");
    assert!(!keys.join("xan.key").exists() && !dir.join("t").exists());

    // Without --shares-out and without a terminal: refused before sending.
    let out = svault(&[
        "bao",
        "init",
        p(&dir.join("new.record")),
        "--addr",
        &url,
        "--threshold",
        "2",
        "--officer",
        "amy",
        "--officer",
        "ben",
        "--root-token-out",
        p(&dir.join("t")),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("no terminal"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(lone.seal_status(0)["initialized"], false, "init was sent");

    interactive_init_on_a_terminal(&lone, &dir);
}

/// At a terminal running a key ceremony: each of `officers` in turn reads their key off
/// the screen, presses Enter and types it back in groups; `mistype` first types one
/// character wrong and is told which group to check. The keys, in order.
fn officers_type_back(
    term: &mut rexpect::session::PtySession,
    officers: &[&str],
    mistype: Option<&str>,
) -> Vec<String> {
    let pause = || std::thread::sleep(std::time::Duration::from_millis(300));
    let mut typed = Vec::new();
    for &officer in officers {
        let screen = term.exp_string("Press Enter").unwrap();
        // The key: the line of 11 groups of hex characters.
        let shown: String = screen
            .lines()
            .map(|l| l.trim().trim_start_matches("svault:").trim())
            .find(|l| {
                let groups: Vec<&str> = l.split(' ').collect();
                groups.len() == 11
                    && groups
                        .iter()
                        .all(|g| g.bytes().all(|c| c.is_ascii_hexdigit()))
            })
            .unwrap_or_else(|| panic!("{officer}: no key on screen: {screen}"))
            .to_owned();
        let key: String = shown.split(' ').collect();
        assert_eq!(key.len(), 66);
        pause();
        term.send_line("").unwrap();
        term.exp_string(&format!("{officer}, type your key from your copy"))
            .unwrap();
        if mistype == Some(officer) {
            let mut wrong = key.clone().into_bytes();
            wrong[20] = if wrong[20] == b'0' { b'1' } else { b'0' };
            pause();
            term.send_line(std::str::from_utf8(&wrong).unwrap())
                .unwrap();
            term.exp_string(&format!(
                "{officer}: the key typed differs from the key shown in group 4"
            ))
            .unwrap();
            term.exp_string(&format!("{officer}, type your key from your copy"))
                .unwrap();
        }
        pause();
        // Typed as written down, in groups.
        term.send_line(&shown).unwrap();
        term.exp_string(&format!("{officer}: your key matches."))
            .unwrap();
        typed.push(key);
    }
    typed
}

/// The ceremony at a terminal (this test's node, still uninitialised): each officer is
/// shown their key, writes it down and types it back with echo off; ben mistypes one
/// character and is told which group to check. No key file is written anywhere.
fn interactive_init_on_a_terminal(lone: &Cluster, dir: &Path) {
    let record = dir.join("typed.record");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_svault"));
    cmd.args([
        "bao",
        "init",
        p(&record),
        "--addr",
        &lone.nodes[0].url(),
        "--threshold",
        "2",
        "--officer",
        "amy",
        "--officer",
        "ben",
        "--root-token-out",
        p(&dir.join("typed.token")),
    ])
    .env_remove("BAO_ADDR")
    .env_remove("VAULT_ADDR");
    let mut term = rexpect::session::spawn_command(cmd, Some(30_000)).unwrap();
    let typed = officers_type_back(&mut term, &["amy", "ben"], Some("ben"));
    let rest = term.exp_eof().unwrap();
    assert!(rest.contains("record written"), "{rest}");
    assert_eq!(lone.seal_status(0)["sealed"], false);
    // The typed keys are the record's; no key file was written.
    for (officer, key) in ["amy", "ben"].iter().zip(&typed) {
        let file = dir.join(format!("{officer}-typed.key"));
        fs::write(&file, format!("{key}\n")).unwrap();
        let out = svault(&["bao", "verify", p(&record), "--key-file", p(&file)]);
        assert_eq!(
            text(&out.stdout),
            format!("{officer}\n"),
            "{}",
            text(&out.stderr)
        );
        assert!(!dir.join(format!("{officer}.key")).exists());
    }
}

struct Killed(std::process::Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `svault agent` on the vault `dir/ops.svault` for every node of the cluster,
/// with its socket and audit log at `dir/NAME.sock` and `dir/NAME.audit`; killed when
/// dropped.
fn start_agent(cluster: &Cluster, dir: &Path, name: &str) -> (Killed, PathBuf, PathBuf) {
    let socket = dir.join(format!("{name}.sock"));
    let audit = dir.join(format!("{name}.audit"));
    let mut args = vec![
        "agent".to_owned(),
        p(&dir.join("ops.svault")).into(),
        "--socket".into(),
        p(&socket).into(),
        "--audit-log".into(),
        p(&audit).into(),
    ];
    for node in &cluster.nodes {
        args.extend(["--bao-addr".into(), node.url()]);
    }
    let agent = Killed(
        Command::new(env!("CARGO_BIN_EXE_svault"))
            .args(&args)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap(),
    );
    let start = std::time::Instant::now();
    while !socket.exists() {
        assert!(start.elapsed().as_secs() < 20, "agent did not start");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    (agent, socket, audit)
}

fn agent_keeps_the_cluster_unsealed(
    cluster: &mut Cluster,
    dir: &Path,
    k_hex: &str,
    keys: &[String],
) {
    let (agent, socket, audit) = start_agent(cluster, dir, "agent");
    // Sealed agent: a restarted node stays sealed.
    cluster.restart(1);
    wait_initialised(cluster, 1);
    std::thread::sleep(std::time::Duration::from_secs(3));
    assert_eq!(
        cluster.seal_status(1)["sealed"],
        true,
        "unsealed while the agent was sealed"
    );
    // The officer unseals the agent: the node is unsealed with no one typing.
    let share = dir.join("ops.share");
    let out = svault(&["unseal", "--socket", p(&socket), "--share-file", p(&share)]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    cluster.wait_sealed(1, false);
    // Killed and restarted while the agent is unsealed.
    cluster.restart(0);
    cluster.wait_sealed(0, false);
    // Sealing the agent stops it.
    let out = svault(&["seal", "--socket", p(&socket)]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    cluster.restart(2);
    wait_initialised(cluster, 2);
    std::thread::sleep(std::time::Duration::from_secs(3));
    assert_eq!(
        cluster.seal_status(2)["sealed"],
        true,
        "unsealed after the agent was sealed"
    );
    drop(agent);

    let log = fs::read_to_string(&audit).unwrap();
    let unsealed: Vec<serde_json::Value> = log
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|v| v["event"] == "bao_unseal" && v["result"] == "unsealed")
        .collect();
    let nodes: Vec<&str> = unsealed
        .iter()
        .map(|v| v["node"].as_str().unwrap())
        .collect();
    assert!(nodes.contains(&cluster.nodes[1].url().as_str()), "{log}");
    assert!(nodes.contains(&cluster.nodes[0].url().as_str()), "{log}");
    assert!(!nodes.contains(&cluster.nodes[2].url().as_str()), "{log}");
    assert!(
        !log.contains(k_hex) && !log.contains(&k_hex[..16]),
        "K in the audit log"
    );
    for key in keys {
        assert!(!log.contains(&key[..16]));
    }
    // The rest of the test unseals node 2 itself.
    for key in &keys[..3] {
        http(
            cluster.nodes[2].api_port,
            "PUT",
            "/v1/sys/unseal",
            &format!("{{\"key\":\"{key}\"}}"),
        )
        .unwrap();
    }
    cluster.wait_sealed(2, false);
}

/// An existing cluster, initialised by OpenBao itself, moves to svault keys with
/// `bao rotate --adopt`: a wrong key makes OpenBao refuse and svault cancel; then the
/// rotation, after which every old key given is named as retired and the new keys
/// unseal the restarted node.
#[test]
fn an_existing_cluster_rotates_into_svault_keys() {
    let Some(bin) = bao_binary() else { return };
    let mut lone = Cluster::start(&bin, 1, false);
    let dir = lone.dir.path().to_path_buf();
    let port = lone.nodes[0].api_port;
    let (status, init) = http(
        port,
        "PUT",
        "/v1/sys/init",
        r#"{"secret_shares":3,"secret_threshold":2}"#,
    )
    .unwrap();
    assert_eq!(status, 200, "{init}");
    let old: Vec<String> = init["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k.as_str().unwrap().to_owned())
        .collect();
    let token = dir.join("root.token");
    fs::write(
        &token,
        format!("{}\n", init["root_token"].as_str().unwrap()),
    )
    .unwrap();
    for key in &old[..2] {
        http(
            port,
            "PUT",
            "/v1/sys/unseal",
            &format!(r#"{{"key":"{key}"}}"#),
        )
        .unwrap();
    }
    lone.wait_sealed(0, false);
    let old_files: Vec<PathBuf> = ["olga", "oscar", "otto"]
        .iter()
        .zip(&old)
        .map(|(name, key)| {
            let path = dir.join(format!("{name}.key"));
            fs::write(&path, format!("{key}\n")).unwrap();
            path
        })
        .collect();
    let record = dir.join("cluster.record");
    let new_dir = dir.join("new");
    fs::create_dir(&new_dir).unwrap();
    let url = lone.nodes[0].url();
    let adopt = |files: &[&Path]| {
        let mut args = vec![
            "bao",
            "rotate",
            p(&record),
            "--adopt",
            "--addr",
            &url,
            "--token-file",
            p(&token),
            "--threshold",
            "2",
            "--officer",
            "alice",
            "--officer",
            "bob",
            "--officer",
            "carol",
            "--shares-out",
            p(&new_dir),
        ];
        for f in files {
            args.extend(["--key-file", p(f)]);
        }
        svault(&args)
    };

    // A key of another cluster among them: OpenBao refuses, the rotation is cancelled.
    let foreign = dir.join("foreign.key");
    fs::write(&foreign, format!("{}07\n", "5a".repeat(32))).unwrap();
    let out = adopt(&[&old_files[0], &foreign]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.contains("refused the current keys") && err.contains("rotation was cancelled"),
        "{err}"
    );
    assert!(!record.exists());
    assert_eq!(fs::read_dir(&new_dir).unwrap().count(), 0);
    let root = fs::read_to_string(&token).unwrap();
    let (_, rotation) = http_as(
        port,
        "GET",
        "/v1/sys/rotate/root/init",
        "",
        Some(root.trim()),
    )
    .unwrap();
    assert_eq!(rotation["data"]["started"], false, "{rotation}");
    // The same key twice: refused before anything is sent.
    let again = dir.join("again.key");
    fs::copy(&old_files[0], &again).unwrap();
    let out = adopt(&[&old_files[0], &again]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("the same key twice"));

    let out = adopt(&[&old_files[0], &old_files[2]]);
    assert!(
        out.status.success(),
        "{}\n{}",
        text(&out.stderr),
        lone.log(0)
    );
    assert!(text(&out.stdout).contains("record written"));
    let new_keys: Vec<PathBuf> = ["alice", "bob", "carol"]
        .iter()
        .map(|o| new_dir.join(format!("{o}.key")))
        .collect();
    let json: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(&record).unwrap()).unwrap();
    let date = json["retired"][0]["retired"].as_str().unwrap().to_owned();
    for (name, path) in [("olga", &old_files[0]), ("otto", &old_files[2])] {
        let out = svault(&["bao", "verify", p(&record), "--key-file", p(path)]);
        assert_eq!(out.status.code(), Some(1));
        assert!(
            text(&out.stderr).contains(&format!(
                "officer {name}'s key from before the rotation on {date}"
            )),
            "{}",
            text(&out.stderr)
        );
    }
    // OpenBao's own keys no longer unseal; the new ones do.
    lone.restart(0);
    let out = svault(&[
        "bao",
        "unseal",
        p(&record),
        "--addr",
        &url,
        "--key-file",
        p(&new_keys[1]),
        "--key-file",
        p(&new_keys[2]),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        format!("{}: unsealed\n", lone.nodes[0].name())
    );
    lone.restart(0);
    for key in &old[..2] {
        let (status, body) = http(
            port,
            "PUT",
            "/v1/sys/unseal",
            &format!(r#"{{"key":"{key}"}}"#),
        )
        .unwrap();
        if status != 200 {
            assert!(body.to_string().contains("authentication failed"), "{body}");
        }
    }
    assert_eq!(lone.seal_status(0)["sealed"], true);

    rotate_at_a_terminal(&lone, &record, &token, &new_keys);
}

/// `bao rotate` without `--shares-out`: the new keys are shown at a terminal and typed
/// back. Interrupted at the first officer, the rotation is cancelled and nothing
/// changes; run through, the typed keys are the record's and no key file is written.
fn rotate_at_a_terminal(lone: &Cluster, record: &Path, token: &Path, keys: &[PathBuf]) {
    let url = lone.nodes[0].url();
    let out = svault(&[
        "bao",
        "unseal",
        p(record),
        "--addr",
        &url,
        "--key-file",
        p(&keys[0]),
        "--key-file",
        p(&keys[1]),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let rotate = || {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_svault"));
        cmd.args([
            "bao",
            "rotate",
            p(record),
            "--addr",
            &url,
            "--token-file",
            p(token),
            "--key-file",
            p(&keys[0]),
            "--key-file",
            p(&keys[2]),
        ])
        .env_remove("BAO_ADDR")
        .env_remove("VAULT_ADDR");
        rexpect::session::spawn_command(cmd, Some(30_000)).unwrap()
    };
    // Without a terminal: refused before anything is sent.
    let out = svault(&[
        "bao",
        "rotate",
        p(record),
        "--addr",
        &url,
        "--token-file",
        p(token),
        "--key-file",
        p(&keys[0]),
        "--key-file",
        p(&keys[2]),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("no terminal"),
        "{}",
        text(&out.stderr)
    );

    let before = fs::read_to_string(record).unwrap();
    let mut term = rotate();
    term.exp_string("Press Enter").unwrap();
    term.send_control('d').unwrap();
    let rest = term.exp_eof().unwrap();
    assert!(rest.contains("rotation was cancelled"), "{rest}");
    assert_eq!(fs::read_to_string(record).unwrap(), before);
    let root = fs::read_to_string(token).unwrap();
    let (_, rotation) = http_as(
        lone.nodes[0].api_port,
        "GET",
        "/v1/sys/rotate/root/init",
        "",
        Some(root.trim()),
    )
    .unwrap();
    assert_eq!(rotation["data"]["started"], false, "{rotation}");

    let mut term = rotate();
    let typed = officers_type_back(&mut term, &["alice", "bob", "carol"], Some("carol"));
    let rest = term.exp_eof().unwrap();
    assert!(rest.contains("record replaced"), "{rest}");
    assert!(
        rest.contains("officer carol: key verified (typed back)"),
        "{rest}"
    );
    for (officer, key) in ["alice", "bob", "carol"].iter().zip(&typed) {
        let file = lone.dir.path().join(format!("{officer}-typed.key"));
        fs::write(&file, format!("{key}\n")).unwrap();
        let out = svault(&["bao", "verify", p(record), "--key-file", p(&file)]);
        assert_eq!(
            text(&out.stdout),
            format!("{officer}\n"),
            "{}",
            text(&out.stderr)
        );
    }
    // The keys it replaced are named as retired.
    let out = svault(&["bao", "verify", p(record), "--key-file", p(&keys[0])]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("from before the rotation"));
}
