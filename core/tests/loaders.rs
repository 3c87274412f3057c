//! The data loaders on files generated in the exact published layouts (tests/python/
//! make_datasets.py), and clear errors for malformed ones.

mod common;

use std::path::Path;

use robbench_core::data::{self, Dataset, Split};
use tch::Kind;

/// Image i, pixel j of the generator: (7 i + j + offset) % 256.
fn check(split: &Split, n: i64, side: i64, offset: i64, label: impl Fn(i64) -> i64) {
    assert_eq!(split.len(), n);
    assert_eq!(split.images.size(), vec![n, 3, side, side]);
    let flat = split.images.view([n, 3 * side * side]).to_kind(Kind::Int64);
    for i in [0, 1, n / 2, n - 1] {
        for j in [0, 1, side * side, 3 * side * side - 1] {
            assert_eq!(
                flat.int64_value(&[i, j]),
                (7 * i + j + offset) % 256,
                "image {i} pixel {j}"
            );
        }
        assert_eq!(split.labels.int64_value(&[i]), label(i), "label of image {i}");
    }
}

#[test]
#[ignore = "full tier (make test): needs the Python venv"]
fn cifar_and_imagenet16_in_both_layouts() {
    let tmp = tempfile::tempdir().unwrap();
    common::python("make_datasets.py", [tmp.path()]);
    let root = tmp.path();
    // Binary batches (found under the published folder names).
    check(&data::load(Dataset::Cifar10, Some(root), true).unwrap(), 60, 32, 0, |i| i % 10);
    check(&data::load(Dataset::Cifar10, Some(root), false).unwrap(), 10, 32, 128, |i| i % 10);
    check(&data::load(Dataset::Cifar100, Some(root), true).unwrap(), 30, 32, 0, |i| i % 100);
    // Python pickles: hide the binary folders.
    std::fs::rename(root.join("cifar-10-batches-bin"), root.join("hidden-10")).unwrap();
    std::fs::rename(root.join("cifar-100-binary"), root.join("hidden-100")).unwrap();
    check(&data::load(Dataset::Cifar10, Some(root), true).unwrap(), 60, 32, 0, |i| i % 10);
    check(
        &data::load(Dataset::Cifar10, Some(&root.join("cifar-10-batches-py")), false).unwrap(),
        10,
        32,
        128,
        |i| i % 10,
    );
    check(&data::load(Dataset::Cifar100, Some(root), false).unwrap(), 10, 32, 128, |i| i % 100);
    // ImageNet16: only labels 1..120 are kept, as 0..119.
    let train = data::load(Dataset::ImageNet16, Some(root), true).unwrap();
    let kept: Vec<i64> = (0..400).filter(|i| (1 + (i * 37) % 1000) <= 120).collect();
    assert_eq!(train.len(), kept.len() as i64);
    let flat = train.images.view([train.len(), 768]).to_kind(Kind::Int64);
    for (row, &i) in kept.iter().enumerate() {
        assert_eq!(train.labels.int64_value(&[row as i64]), (i * 37) % 1000);
        assert_eq!(flat.int64_value(&[row as i64, 5]), (7 * i + 5) % 256);
    }
    assert_eq!(
        data::load(Dataset::ImageNet16, Some(root), false).unwrap().images.size()[1..],
        [3, 16, 16]
    );
}

#[test]
#[ignore = "full tier (make test): needs the Python venv"]
fn malformed_files_are_named_with_what_is_wrong() {
    let tmp = tempfile::tempdir().unwrap();
    common::python("make_datasets.py", [tmp.path()]);
    let root = tmp.path();
    let err = |d: Dataset, dir: &Path, train: bool| match data::load(d, Some(dir), train) {
        Ok(_) => panic!("{} loaded from {}", d.name(), dir.display()),
        Err(e) => format!("{e:#}"),
    };
    // A truncated binary batch.
    let f = root.join("cifar-10-batches-bin/data_batch_3.bin");
    let bytes = std::fs::read(&f).unwrap();
    std::fs::write(&f, &bytes[..bytes.len() - 100]).unwrap();
    let e = err(Dataset::Cifar10, root, true);
    assert!(e.contains("data_batch_3.bin") && e.contains("records"), "{e}");
    // A label out of range.
    let f = root.join("cifar-10-batches-bin/test_batch.bin");
    let mut bytes = std::fs::read(&f).unwrap();
    bytes[0] = 42;
    std::fs::write(&f, &bytes).unwrap();
    let e = err(Dataset::Cifar10, root, false);
    assert!(e.contains("test_batch.bin") && e.contains("label 42"), "{e}");
    // A pickle that is not one, and a missing folder.
    std::fs::write(root.join("cifar-100-python/test"), b"not a pickle").unwrap();
    std::fs::rename(root.join("cifar-100-binary"), root.join("hidden")).unwrap();
    let e = err(Dataset::Cifar100, root, false);
    assert!(e.contains("cifar-100-python/test") && e.contains("pickle"), "{e}");
    let e = err(Dataset::ImageNet16, &root.join("nowhere"), true);
    assert!(e.contains("nowhere") && e.contains("train_data_batch_1"), "{e}");
    std::fs::write(root.join("ImageNet16/val_data"), b"\x80\x02}q\x00.").unwrap();
    let e = err(Dataset::ImageNet16, root, false);
    assert!(e.contains("val_data") && e.contains("'data'"), "{e}");
}

#[test]
fn digits_as_the_spec_defines_it() {
    let train = data::digits(true).unwrap();
    let eval = data::digits(false).unwrap();
    assert_eq!((train.len(), eval.len()), (1438, 359));
    assert_eq!(train.images.size(), vec![1438, 3, 8, 8]);
    // Rows i % 5 == 4 are the evaluation images; channels are copies; values are v / 16.
    let (x, _) = eval.range(0, 1, tch::Device::Cpu);
    assert!(x.max().double_value(&[]) <= 1.0 && x.min().double_value(&[]) >= 0.0);
    assert_eq!(x.get(0).get(0), x.get(0).get(2));
    // The first evaluation image is row 4 of the file.
    let text = {
        use std::io::Read;
        let mut s = String::new();
        flate2::read::GzDecoder::new(
            std::fs::File::open(concat!(env!("CARGO_MANIFEST_DIR"), "/../data/digits.csv.gz"))
                .unwrap(),
        )
        .read_to_string(&mut s)
        .unwrap();
        s
    };
    let row4: Vec<i64> =
        text.lines().nth(4).unwrap().split(',').map(|v| v.parse().unwrap()).collect();
    assert_eq!(eval.labels.int64_value(&[0]), row4[64]);
    assert_eq!(
        eval.images.get(0).get(1).view([64]).to_kind(Kind::Int64).int64_value(&[10]),
        row4[10]
    );
}
