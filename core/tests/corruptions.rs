//! The CIFAR-10-C loader on files generated in the published layout (tests/python/
//! make_corruptions.py), and its errors for wrong dtypes, shapes and lengths.

mod common;

use robbench_core::data::corruptions;
use tch::{Device, Kind};

#[test]
#[ignore = "full tier (make test): needs the Python venv"]
fn severities_are_blocks_of_ten_thousand_and_bad_files_are_named() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    common::python("make_corruptions.py", [dir]);
    for severity in [1, 3, 5] {
        let split = corruptions::load(dir, "gaussian_noise", severity, Some(20)).unwrap();
        assert_eq!(split.len(), 20);
        let (x, y) = split.range(0, 20, Device::Cpu);
        let first = (severity - 1) * 10_000;
        for i in [0i64, 7, 19] {
            assert_eq!(
                y.int64_value(&[i]),
                (first + i) % 10,
                "label of image {i}, severity {severity}"
            );
            for (c, h, w) in [(0i64, 0i64, 0i64), (2, 5, 31), (1, 31, 2)] {
                let j = h * 96 + w * 3 + c; // HWC order in the file
                let want = ((7 * (first + i) + j) % 256) as f64 / 255.0;
                assert!(
                    (x.double_value(&[i, c, h, w]) - want).abs() < 1e-6,
                    "pixel ({i},{c},{h},{w}) severity {severity}"
                );
            }
        }
        assert_eq!(x.kind(), Kind::Float);
    }
    assert_eq!(corruptions::load(dir, "gaussian_noise", 2, None).unwrap().len(), 10_000);

    let bad = dir.join("bad");
    std::fs::copy(dir.join("labels.npy"), bad.join("good_labels.npy")).unwrap();
    let err = |c: &str, s: i64| {
        corruptions::load(&bad, c, s, Some(5)).err().map(|e| format!("{e:#}")).unwrap_or_default()
    };
    let e = err("shot_noise", 1);
    assert!(e.contains("shot_noise.npy") && e.contains("uint8"), "{e}");
    let e = err("snow", 1);
    assert!(e.contains("snow.npy") && e.contains("(50000, 32, 32, 3)"), "{e}");
    let e = err("fog", 1);
    assert!(e.contains("fog.npy") && e.contains("bytes of data"), "{e}");
    let e = err("frost", 1);
    assert!(e.contains("labels.npy") && e.contains("(50000,)"), "{e}");
    let e = err("brightness", 1);
    assert!(e.contains("brightness.npy"), "{e}");
    let e = err("gaussian_blur", 1);
    assert!(e.contains("unknown corruption 'gaussian_blur'"), "{e}");
    let e = corruptions::load(dir, "gaussian_noise", 6, None).err().unwrap().to_string();
    assert!(e.contains("severity must be 1..5"), "{e}");
}
