-- The trained rows bundled with robbench: 100 unique NAS-Bench-201 architectures, trained and
-- attacked by robbench's own train() on digits, on CPU, under a short protocol (the paper's in
-- every setting but epochs: 4 instead of 50). The sample is pseudo-random and reproducible with
-- any tool: the unique architectures ordered by the MD5 of their decimal index, first 100.
--
--   robbench --bench /tmp/digits-bench --threads 1 sql/fill/digits_sample.sql
--
-- takes about 1.5 hours on one CPU core; data/digits_trained/ holds its runs, metrics and
-- curves, which sql/bundle.sql loads into the bundled benchmark.
SET VARIABLE digits_sample = (
    SELECT list(arch ORDER BY arch)
    FROM (SELECT arch FROM architectures WHERE is_unique ORDER BY md5(arch::VARCHAR) LIMIT 100)
);
INSERT INTO metrics FROM train(getvariable('digits_sample'), dataset := 'digits', seed := 0, epochs := 4);
