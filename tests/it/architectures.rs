//! The architectures table against NAS-Bench-201's own data: the shipped index order, and the
//! isomorphism representatives the published NAS-RobBench-201 table lists for all 15,625 ids.

use crate::common::*;

#[test]
fn architectures_agree_with_the_index_and_the_published_representatives() {
    let (_tmp, bench) = new_bench();
    let o = on(
        &bench,
        &["-c", "SELECT arch, arch_str, uid, is_unique FROM architectures ORDER BY arch"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let rows = csv_rows(&stdout(&o));
    assert_eq!(rows.len(), 15_625);

    let index = std::fs::read_to_string(root().join("../shared/data/nb201_archs.txt"))
        .or_else(|_| std::fs::read_to_string(root().join("data/nb201_archs.txt")))
        .unwrap();
    let page = std::fs::read_to_string(root().join("data/nasrobbench201_page.js")).unwrap();
    let page: serde_json::Value =
        serde_json::from_str(page.trim().trim_start_matches("acc=").trim_end_matches(';')).unwrap();
    let page = page.as_object().unwrap();

    let mut unique = 0;
    for ((row, line), i) in rows.iter().zip(index.lines()).zip(0..) {
        assert_eq!(row[0], i.to_string());
        assert_eq!(row[1], line, "arch {i}");
        let published_uid = match &page[&i.to_string()] {
            serde_json::Value::String(rep) => rep.clone(),
            serde_json::Value::Array(_) => i.to_string(),
            other => panic!("unexpected page entry {other}"),
        };
        assert_eq!(row[2], published_uid, "arch {i}: representative");
        assert_eq!(row[3] == "true", published_uid == i.to_string());
        unique += (row[3] == "true") as usize;
    }
    assert_eq!(unique, 6_466);
}

#[test]
fn counts_and_sizes_match_nas_bench_201() {
    let (_tmp, bench) = new_bench();
    let o = on(&bench, &["-c",
        "SELECT arch, params_cifar10, flops_cifar10, params_imagenet16, flops_imagenet16, n_none + n_skip + n_conv1x1 + n_conv3x3 + n_pool, len(ops)
         FROM architectures WHERE arch IN (0, 3, 1000) ORDER BY arch",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let rows = csv_rows(&stdout(&o));
    // Published by NAS-Bench-201 (issue #2).
    assert_eq!(rows[0][1], "129306");
    assert!((rows[0][2].parse::<f64>().unwrap() - 15.64737).abs() < 1e-9);
    assert_eq!(rows[1][1], "73306");
    assert!((rows[1][2].parse::<f64>().unwrap() - 7.78305).abs() < 1e-9);
    assert_eq!(rows[2][3], "594536");
    assert!((rows[2][4].parse::<f64>().unwrap() - 20.63116).abs() < 1e-9);
    for r in &rows {
        assert_eq!(r[5], "6");
        assert_eq!(r[6], "6");
    }
}
