//! Value-for-value parity with the real node_exporter 1.5 on a fake host.
//!
//! A `/proc`, `/sys` and rootfs with edge cases (old kernels' shorter
//! diskstats lines, a counter glued to its device name in net/dev, units and
//! parentheses in meminfo, escaped mount points, hexadecimal counters, ...)
//! is written to a temporary directory; node_exporter reads it through
//! `--path.procfs`, `--path.sysfs` and `--path.rootfs` with the matching
//! collectors only, and warden's host collector reads the same tree. Every
//! series node_exporter writes must come out of warden with exactly the same
//! value, and warden must write nothing node_exporter does not.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use warden_exporters::Collector;
use warden_exporters::exposition::{Format, parse};
use warden_exporters::host::{HostCollector, HostConfig};
use warden_tsdb::{AppendError, Appender, Labels, MetricMetadata};

const NODE_EXPORTER: &str = "/usr/bin/prometheus-node-exporter";

/// node_exporter collectors that read only the configured roots.
const COLLECTORS: [&str; 27] = [
    "arp",
    "bonding",
    "conntrack",
    "cpu",
    "cpufreq",
    "diskstats",
    "dmi",
    "edac",
    "entropy",
    "filefd",
    "filesystem",
    "hwmon",
    "loadavg",
    "mdadm",
    "meminfo",
    "netclass",
    "netdev",
    "netstat",
    "os",
    "pressure",
    "schedstat",
    "sockstat",
    "softnet",
    "stat",
    "thermal_zone",
    "udp_queues",
    "vmstat",
];

/// Kills the node_exporter this test started, by its PID, however it ends.
struct Guard(Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[derive(Default)]
struct MemAppender(Vec<(Labels, f64)>, BTreeMap<String, MetricMetadata>);

impl Appender for MemAppender {
    fn append(&mut self, labels: &Labels, _t: i64, v: f64) -> Result<(), AppendError> {
        self.0.push((labels.clone(), v));
        Ok(())
    }
    fn set_metadata(&mut self, metric: &str, metadata: MetricMetadata) {
        self.1.insert(metric.to_string(), metadata);
    }
    fn commit(&mut self) -> Result<(), AppendError> {
        Ok(())
    }
}

fn write(root: &Path, rel: &str, content: &str) {
    let p = root.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, content).unwrap();
}

fn fake_host(root: &Path) {
    let p = root.join("proc");
    let s = root.join("sys");
    let r = root.join("rootfs");
    std::fs::create_dir_all(r.join("data x")).unwrap();
    write(
        &p,
        "stat",
        "cpu  1 2 3 4 5 6 7 8 9 10\n\
         cpu0 10854 1 3256 54244 186 3 30 4994 7 1\n\
         cpu1 10808 0 3952 52522 683 0 258 5137 0 0\n\
         intr 435493 12 0 7\nctxt 1008873\nbtime 1795374724\nprocesses 13378\n\
         procs_running 2\nprocs_blocked 1\nsoftirq 55 1 2 3 4 5 6 7 8 9 10\n",
    );
    write(&p, "loadavg", "0.63 0.59 0.31 3/147 13378\n");
    write(
        &p,
        "meminfo",
        "MemTotal:       24668184 kB\nMemFree:        21013544 kB\nActive(anon):     514120 kB\n\
         Inactive(file):  1000000 kB\nHugePages_Total:       4\nHugePages_Free:        3\n\
         Hugepagesize:       2048 kB\nDirectMap1G:     2097152 kB\n",
    );
    write(&p, "sys/fs/file-nr", "1546\t0\t2466177\n");
    // The last mount is listed under the rootfs, as a container's own mount
    // table shows the host's mounts: the prefix is stripped from the label.
    std::fs::create_dir_all(r.join("extra")).unwrap();
    write(
        &p,
        "1/mounts",
        &format!(
            "/dev/vda / ext4 rw,relatime 0 0\n/dev/vdb /data\\040x xfs ro,noatime 0 0\n\
             proc /proc proc rw 0 0\ntmpfs /run tmpfs rw 0 0\n/dev/vdc {}/extra ext4 rw 0 0\n",
            r.display()
        ),
    );
    write(
        &p,
        "diskstats",
        "   7       0 loop0 1 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n\
         254       0 vda 63574 8447 3795458 52016 29938 30144 3879528 29204 2 15436 82679 10295 79 1015288 1082 5858 376\n\
         254       1 vda1 1 1 1 1 1 1 1 1 0 1 1\n\
         8       0 sda 10 0 8 1500 4 0 16 30 0 7 9\n\
         8      16 sdb 10 0 8 1500 4 0 16 30 0 7 9 1 2 3 4\n",
    );
    write(
        &p,
        "net/dev",
        "Inter-|   Receive                                                |  Transmit\n \
         face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n\
         \x20   lo:  111537     708    0    0    0     0          0         0   111537     708    0    0    0     0       0          0\n\
         \x20 eth0:175365198 4964 1 2 3 4 5 6 242257 2484 7 8 9 10 11 12\n",
    );
    write(
        &p,
        "vmstat",
        "nr_free_pages 100\npgpgin 5\npgpgout 6\npswpin 0\npswpout 0\npgfault 77\npgmajfault 3\noom_kill 1\n",
    );
    write(
        &p,
        "pressure/cpu",
        "some avg10=0.92 avg60=4.18 avg300=3.89 total=30843842\n",
    );
    write(
        &p,
        "pressure/io",
        "some avg10=0 avg60=0 avg300=0 total=7273649\nfull avg10=0 avg60=0 avg300=0 total=5203542\n",
    );
    write(
        &p,
        "pressure/memory",
        "some avg10=0 avg60=0 avg300=0 total=17\nfull avg10=0 avg60=0 avg300=0 total=3\n",
    );
    write(&p, "sys/kernel/random/entropy_avail", "256\n");
    write(&p, "sys/kernel/random/poolsize", "4096\n");
    write(&p, "sys/net/netfilter/nf_conntrack_count", "12\n");
    write(&p, "sys/net/netfilter/nf_conntrack_max", "262144\n");
    write(
        &p,
        "net/stat/nf_conntrack",
        "entries  clashres found new invalid ignore delete chainlength insert insert_failed drop early_drop icmp_error  expect_new expect_create expect_delete search_restart\n\
         0000000c  00000000 00000001 00000000 0000000a 00000002 00000000 00000000 00000003 00000001 00000002 00000001 00000000  00000000 00000000 00000000 00000001\n\
         0000000c  00000000 00000002 00000000 00000010 00000000 00000000 00000000 00000004 00000000 00000000 00000000 00000000  00000000 00000000 00000000 00000000\n",
    );
    write(
        &p,
        "net/netstat",
        "TcpExt: SyncookiesSent SyncookiesRecv ListenOverflows ListenDrops TCPTimeouts Other\nTcpExt: 1 2 3 4 5 6\n\
         IpExt: InOctets OutOctets\nIpExt: 100 200\n",
    );
    write(
        &p,
        "net/snmp",
        "Ip: Forwarding DefaultTTL\nIp: 2 64\nIcmp: InMsgs InErrors InCsumErrors OutMsgs\nIcmp: 1 2 3 4\n\
         Tcp: ActiveOpens PassiveOpens CurrEstab InSegs OutSegs RetransSegs InErrs OutRsts\nTcp: 1 2 3 4 5 6 7 8\n\
         Udp: InDatagrams NoPorts InErrors OutDatagrams RcvbufErrors SndbufErrors\nUdp: 1 2 3 4 5 6\n",
    );
    write(
        &p,
        "net/snmp6",
        "Ip6InOctets                     \t10\nIp6OutOctets 20\nIcmp6InMsgs 3\nUdp6InDatagrams 4\nUdpLite6InErrors 5\nIp6InHdrErrors 6\n",
    );
    write(
        &p,
        "net/sockstat",
        "sockets: used 40\nTCP: inuse 13 orphan 0 tw 12 alloc 16 mem 49\nUDP: inuse 0 mem 3\nUDPLITE: inuse 0\nRAW: inuse 0\nFRAG: inuse 0 memory 0\n",
    );
    write(
        &p,
        "net/sockstat6",
        "TCP6: inuse 2\nUDP6: inuse 1\nFRAG6: inuse 0 memory 0\n",
    );
    write(
        &p,
        "net/udp",
        "   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops\n\
         \x20  0: 00000000:0044 00000000:0000 07 00000010:00000100 00:00000000 00000000     0        0 1 2 0000000000000000 0\n\
         \x20  1: 00000000:0045 00000000:0000 07 00000001:00000001 00:00000000 00000000     0        0 1 2 0000000000000000 0\n",
    );
    write(
        &p,
        "net/softnet_stat",
        "00015322 00000000 00000003 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000\n\
         0000f5cb 0000000a 00000001 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000001\n",
    );
    write(
        &p,
        "net/arp",
        "IP address       HW type     Flags       HW address            Mask     Device\n\
         192.0.2.1        0x1         0x2         02:fc:00:00:00:05     *        eth0\n\
         192.0.2.2        0x1         0x2         02:fc:00:00:00:06     *        eth0\n\
         10.0.0.1         0x1         0x2         02:fc:00:00:00:07     *        eth1\n",
    );
    for (dev, attrs) in [
        (
            "eth0",
            &[
                ("operstate", "up"),
                ("address", "02:fc:00:00:00:01"),
                ("broadcast", "ff:ff:ff:ff:ff:ff"),
                ("duplex", "full"),
                ("ifalias", ""),
                ("addr_assign_type", "0"),
                ("carrier", "1"),
                ("carrier_changes", "2"),
                ("carrier_up_count", "1"),
                ("carrier_down_count", "1"),
                ("dev_id", "0x0"),
                ("dormant", "0"),
                ("flags", "0x1003"),
                ("ifindex", "2"),
                ("iflink", "2"),
                ("link_mode", "0"),
                ("mtu", "1500"),
                ("name_assign_type", "4"),
                ("netdev_group", "0"),
                ("speed", "1000"),
                ("tx_queue_len", "1000"),
                ("type", "1"),
            ][..],
        ),
        (
            "lo",
            &[
                ("operstate", "unknown"),
                ("address", "00:00:00:00:00:00"),
                ("mtu", "65536"),
                ("flags", "0x9"),
                ("type", "772"),
                ("speed", "-1"),
            ][..],
        ),
    ] {
        for (attr, value) in attrs {
            write(
                &s,
                &format!("class/net/{dev}/{attr}"),
                &format!("{value}\n"),
            );
        }
    }
    // hwmon: a chip named by its device path, one by its name file only,
    // one by nothing but its directory.
    std::fs::create_dir_all(s.join("devices/platform/coretemp.0")).unwrap();
    for (file, v) in [
        ("name", "coretemp"),
        ("temp1_input", "45000"),
        ("temp1_crit", "100000"),
        ("temp1_crit_alarm", "0"),
        ("temp1_max", "80000"),
        ("temp1_label", " Package id 0 "),
        ("temp2_input", "43000"),
        ("temp2_label", "Core 0"),
    ] {
        write(&s, &format!("class/hwmon/hwmon0/{file}"), &format!("{v}\n"));
    }
    std::os::unix::fs::symlink(
        s.join("devices/platform/coretemp.0"),
        s.join("class/hwmon/hwmon0/device"),
    )
    .unwrap();
    write(&s, "devices/platform/coretemp.0/temp3_input", "41000\n");
    for (file, v) in [
        ("name", "acpitz"),
        ("temp1_input", "27800"),
        ("temp1_type", "1"),
        ("temp2", "30000"),
        ("temp2_input", "31000"),
        ("fan1_input", "1200"),
        ("fan1_min", "300"),
        ("fan1_alarm", "0"),
        ("fan1_beep", "1"),
        ("pwm1", "128"),
        ("pwm1_enable", "2"),
        ("in0_input", "1200"),
        ("in0_label", "Vcore"),
        ("power1_average", "15000000"),
        ("power1_accuracy", "950000"),
        ("power1_average_interval", "1000"),
        ("curr1_input", "500"),
        ("energy1_input", "123456789"),
        ("humidity1_input", "45000"),
        ("intrusion0_alarm", "0"),
        ("update_interval", "1000"),
        ("beep_enable", "1"),
        ("vrm", "90"),
        ("temp9_input", "not a number"),
    ] {
        write(&s, &format!("class/hwmon/hwmon1/{file}"), &format!("{v}\n"));
    }
    write(&s, "class/hwmon/hwmon2/temp1_input", "12000\n");
    for (file, v) in [
        ("type", "x86_pkg_temp"),
        ("temp", "47000"),
        ("policy", "step_wise"),
    ] {
        write(
            &s,
            &format!("class/thermal/thermal_zone0/{file}"),
            &format!("{v}\n"),
        );
    }
    for (file, v) in [
        ("type", "acpitz"),
        ("temp", "-2500"),
        ("policy", "step_wise"),
        ("mode", "enabled"),
    ] {
        write(
            &s,
            &format!("class/thermal/thermal_zone1/{file}"),
            &format!("{v}\n"),
        );
    }
    write(
        &p,
        "schedstat",
        "version 15\ntimestamp 4295001234\ncpu0 0 0 0 0 0 0 2498662521024 1143124462151 4893210\n\
         domain0 00000003 1 2 3\ncpu1 0 0 0 0 0 0 2384905381580 914126395307 4609042\n",
    );
    write(
        &p,
        "mdstat",
        "Personalities : [linear] [multipath] [raid0] [raid1] [raid6] [raid5] [raid4] [raid10]\nmd3 : active raid6 sda1[8] sdh1[7] sdg1[6] sdf1[5] sde1[11] sdd1[3] sdc1[10] sdb1[9] sdd1[10](S) sdd2[11](S)\n      5853468288 blocks super 1.2 level 6, 64k chunk, algorithm 2 [8/8] [UUUUUUUU]\n\nmd127 : active raid1 sdi2[0] sdj2[1]\n      312319552 blocks [2/2] [UU]\n\nmd0 : active raid1 sdk[2](S) sdi1[0] sdj1[1]\n      248896 blocks [2/2] [UU]\n\nmd4 : inactive raid1 sda3[0](F) sdb3[1](S)\n      4883648 blocks [2/2] [UU]\n\nmd6 : active raid1 sdb2[2](F) sdc[1](S) sda2[0]\n      195310144 blocks [2/1] [U_]\n      [=>...................]  recovery =  8.5% (16775552/195310144) finish=17.0min speed=259783K/sec\n\nmd8 : active raid1 sdb1[1] sda1[0] sdc[2](S) sde[3](S)\n      195310144 blocks [2/2] [UU]\n      [=>...................]  resync =  1.5% (2929600/195310144) finish=15.2min speed=211760K/sec\n\nmd201 : active raid1 sda3[0] sdb3[1]\n      1993728 blocks super 1.2 [2/2] [UU]\n      [=>...................]  check =  5.7% (114176/1993728) finish=0.2min speed=114176K/sec\n\nmd7 : active raid6 sdb1[0] sde1[3] sdd1[2] sdc1[1](F)\n      7813735424 blocks super 1.2 level 6, 512k chunk, algorithm 2 [4/3] [U_UU]\n      bitmap: 0/30 pages [0KB], 65536KB chunk\n\nmd9 : active raid1 sdc2[2] sdd2[3] sdb2[1] sda2[0] sde[4](F) sdf[5](F) sdg[6](S)\n      523968 blocks super 1.2 [4/4] [UUUU]\n      resync=DELAYED\n\nmd10 : active raid0 sda1[0] sdb1[1]\n      314159265 blocks 64k chunks\n\nmd11 : active (auto-read-only) raid1 sdb2[0] sdc2[1](S)\n      4190208 blocks super 1.2 [2/2] [UU]\n      resync=PENDING\n\nmd126 : active raid0 sdb[1] sdc[0]\n      1855870976 blocks super external:/md127/0 128k chunks\n\nmd219 : inactive sdb[2](S) sdc[1](S) sda[0](S)\n      7932 blocks super external:imsm\n\nunused devices: <none>\n",
    );
    for (cpu, files) in [
        (
            "cpu0",
            &[
                ("cpuinfo_cur_freq", "1800000"),
                ("cpuinfo_min_freq", "800000"),
                ("cpuinfo_max_freq", "3700000"),
                ("scaling_cur_freq", "1699981"),
                ("scaling_min_freq", "800000"),
                ("scaling_max_freq", "3700000"),
                ("scaling_governor", "powersave"),
                ("scaling_available_governors", "performance powersave"),
                ("scaling_driver", "intel_pstate"),
                ("scaling_setspeed", "<unsupported>"),
                ("related_cpus", "0"),
            ][..],
        ),
        (
            "cpu1",
            &[
                ("scaling_cur_freq", "1200000"),
                ("scaling_governor", "performance"),
                ("scaling_available_governors", "performance powersave"),
                ("scaling_driver", "intel_pstate"),
                ("scaling_setspeed", "<unsupported>"),
                ("related_cpus", "1"),
            ][..],
        ),
    ] {
        for (file, v) in files {
            write(
                &s,
                &format!("devices/system/cpu/{cpu}/cpufreq/{file}"),
                &format!("{v}\n"),
            );
        }
    }
    std::fs::create_dir_all(s.join("devices/system/cpu/cpu2")).unwrap();
    // Throttle counters: two threads of core 0 and one of core 1 in package 0.
    for (n, core, count) in [("0", "0", "5"), ("1", "0", "99"), ("2", "1", "7")] {
        let cpu = format!("devices/system/cpu/cpu{n}");
        write(&s, &format!("{cpu}/topology/physical_package_id"), "0\n");
        write(&s, &format!("{cpu}/topology/core_id"), &format!("{core}\n"));
        write(
            &s,
            &format!("{cpu}/thermal_throttle/core_throttle_count"),
            &format!("{count}\n"),
        );
        write(
            &s,
            &format!("{cpu}/thermal_throttle/package_throttle_count"),
            "11\n",
        );
    }
    for (file, v) in [
        ("bios_date", "04/01/2014"),
        ("bios_vendor", "SeaBIOS"),
        ("bios_version", "1.16.2-debian-1.16.2-1"),
        ("board_vendor", "Acme \u{e9}"),
        ("chassis_vendor", "QEMU"),
        ("product_name", "Standard PC (Q35 + ICH9, 2009)"),
        ("product_uuid", "  padded  "),
        ("sys_vendor", "QEMU"),
    ] {
        write(&s, &format!("class/dmi/id/{file}"), &format!("{v}\n"));
    }
    write(&s, "class/net/bonding_masters", "bond0\n");
    write(&s, "class/net/bond0/bonding/slaves", "eth1 eth2\n");
    write(
        &s,
        "class/net/bond0/lower_eth1/bonding_slave/mii_status",
        "up\n",
    );
    write(
        &s,
        "class/net/bond0/slave_eth2/bonding_slave/mii_status",
        "down\n",
    );
    write(&s, "class/net/bond0/operstate", "up\n");
    let mc = "devices/system/edac/mc/mc0";
    for (file, v) in [
        ("ce_count", "3"),
        ("ce_noinfo_count", "1"),
        ("ue_count", "0"),
        ("ue_noinfo_count", "0"),
        ("csrow0/ce_count", "2"),
        ("csrow0/ue_count", "0"),
        ("csrow1/ce_count", "0"),
        ("csrow1/ue_count", "0"),
    ] {
        write(&s, &format!("{mc}/{file}"), &format!("{v}\n"));
    }
    for (file, v) in [
        ("type", "Processor"),
        ("max_state", "3"),
        ("cur_state", "1"),
    ] {
        write(
            &s,
            &format!("class/thermal/cooling_device0/{file}"),
            &format!("{v}\n"),
        );
    }
    write(
        &r,
        "etc/os-release",
        "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME=\"Debian GNU/Linux\"\nVERSION_ID=\"12\"\n\
         VERSION=\"12 (bookworm)\"\nVERSION_CODENAME=bookworm\nID=debian\n",
    );
}

fn get(port: u16) -> Option<Vec<u8>> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    write!(s, "GET /metrics HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").ok()?;
    let mut resp = Vec::new();
    s.read_to_end(&mut resp).ok()?;
    if !resp.starts_with(b"HTTP/1.0 200") && !resp.starts_with(b"HTTP/1.1 200") {
        return None;
    }
    let split = resp.windows(4).position(|w| w == b"\r\n\r\n")?;
    Some(resp[split + 4..].to_vec())
}

#[test]
fn same_values_as_node_exporter_on_a_fake_host() {
    assert!(
        Path::new(NODE_EXPORTER).exists(),
        "{NODE_EXPORTER} is missing: install the Debian package `prometheus-node-exporter` \
         (apt-get install -y prometheus-node-exporter); the project's test script does"
    );
    let dir = tempfile::tempdir().unwrap();
    fake_host(dir.path());
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut cmd = Command::new(NODE_EXPORTER);
    cmd.arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .arg(format!(
            "--path.procfs={}",
            dir.path().join("proc").display()
        ))
        .arg(format!("--path.sysfs={}", dir.path().join("sys").display()))
        .arg(format!(
            "--path.rootfs={}",
            dir.path().join("rootfs").display()
        ))
        .arg(format!(
            "--path.udev.data={}",
            dir.path().join("udev").display()
        ))
        .arg("--collector.disable-defaults")
        .arg("--no-collector.netdev.netlink")
        .arg("--web.disable-exporter-metrics");
    for c in COLLECTORS {
        cmd.arg(format!("--collector.{c}"));
    }
    let _guard = Guard(
        cmd.stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start node_exporter"),
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    let body = loop {
        if let Some(b) = get(port) {
            break b;
        }
        assert!(Instant::now() < deadline, "node_exporter did not answer");
        std::thread::sleep(Duration::from_millis(100));
    };

    let mut c = HostCollector::new(HostConfig {
        proc_path: dir.path().join("proc"),
        sys_path: dir.path().join("sys"),
        rootfs_path: dir.path().join("rootfs"),
        udev_data_path: dir.path().join("udev"),
        disabled: vec![
            "time".into(),
            "timex".into(),
            "uname".into(),
            "textfile".into(),
        ],
        ..HostConfig::default()
    })
    .unwrap();
    let mut app = MemAppender::default();
    let errors = c.collect(0, &mut app);
    assert!(errors.is_empty(), "{errors:?}");

    let ours: BTreeMap<String, f64> = app.0.iter().map(|(l, v)| (l.to_string(), *v)).collect();
    let parsed = parse(Format::Text, &body).expect("parse node_exporter");
    // Every collector must have worked on the fake tree, or the comparison
    // below would miss its families.
    for c in COLLECTORS {
        let series = format!("node_scrape_collector_success{{collector=\"{c}\"}}");
        let ok = parsed
            .iter()
            .find(|s| s.labels.to_string() == series)
            .map(|s| s.value);
        assert_eq!(
            ok,
            Some(1.0),
            "node_exporter's {c} collector failed on the fake host"
        );
    }
    let mut problems = Vec::new();
    // Same type for every family.
    for p in &parsed {
        let name = &p.family.name;
        if !name.starts_with("node_")
            || name.starts_with("node_exporter_")
            || name.starts_with("node_scrape_")
        {
            continue;
        }
        let ours = app.1.get(name).map(|m| m.kind);
        if ours != Some(p.family.metadata.kind) {
            problems.push(format!(
                "{name}: type {ours:?}, node_exporter {:?}",
                p.family.metadata.kind
            ));
        }
    }
    problems.dedup();
    let theirs: BTreeMap<String, f64> = parsed
        .into_iter()
        .filter(|s| {
            s.labels.metric_name().is_some_and(|n| {
                n.starts_with("node_")
                    && !n.starts_with("node_exporter_")
                    && !n.starts_with("node_scrape_")
            })
        })
        .map(|s| (s.labels.to_string(), s.value))
        .collect();
    assert!(
        theirs.len() > 150,
        "only {} series from node_exporter",
        theirs.len()
    );

    assert!(
        theirs
            .keys()
            .any(|k| k.starts_with("node_filesystem_size_bytes")
                && k.contains(r#"mountpoint="/extra""#)),
        "the rootfs-prefixed mount is missing from node_exporter's output"
    );
    for (series, v) in &theirs {
        // Free space is the real disk under the temporary directory, which
        // other processes write to between the two reads; sizes are exact.
        if series.starts_with("node_filesystem_free_bytes")
            || series.starts_with("node_filesystem_avail_bytes")
            || series.starts_with("node_filesystem_files_free")
        {
            if !ours.contains_key(series) {
                problems.push(format!("{series}: missing in warden"));
            }
            continue;
        }
        match ours.get(series) {
            Some(o) if o.to_bits() == v.to_bits() => {}
            Some(o) => problems.push(format!("{series}: warden {o}, node_exporter {v}")),
            None => problems.push(format!("{series}: missing in warden")),
        }
    }
    for series in ours.keys() {
        if !theirs.contains_key(series) {
            problems.push(format!("{series}: written by warden only"));
        }
    }
    assert!(
        problems.is_empty(),
        "{} differences over {} series:\n{}",
        problems.len(),
        theirs.len(),
        problems.join("\n")
    );
}
