-- Builds the bundled benchmark (make build runs it on a new folder): the published
-- NAS-RobBench-201 table from its project page, read by robbench's importer; robbench's own
-- trained rows on digits and training-free scores (data/README.md says how they were made).
INSERT INTO runs FROM read_nasrobbench201('data/nasrobbench201_page.js', target := 'runs');
INSERT INTO metrics FROM read_nasrobbench201('data/nasrobbench201_page.js');
INSERT INTO runs BY NAME SELECT * FROM read_parquet('data/digits_trained/runs.parquet');
INSERT INTO curves BY NAME SELECT * FROM read_parquet('data/digits_trained/curves.parquet');
INSERT INTO metrics BY NAME SELECT * FROM read_parquet('data/digits_trained/metrics.parquet');
INSERT INTO scores BY NAME SELECT * FROM read_parquet('data/ntk_scores.parquet');
