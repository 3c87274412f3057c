-- Views over the benchmark tables (SPEC section 3). They are recreated at every start, never
-- stored.

-- One row per architecture, data set and protocol: each metric's mean over seeds and its sample
-- standard deviation (the release's "threeseed"). A published mean without per-seed values is
-- kept as the mean, its _std NULL, and n_seeds says how many seeds it averages.
CREATE VIEW metrics_mean AS
SELECT
    m.arch,
    any_value(a.arch_str) AS arch_str,
    m.dataset,
    r.protocol,
    CAST(greatest(count(DISTINCT m.seed), coalesce(max(r.mean_of), 0)) AS INTEGER) AS n_seeds,
    avg(m.clean) AS clean,     CASE WHEN max(r.mean_of) IS NULL THEN stddev_samp(m.clean) END AS clean_std,
    avg(m.fgsm3) AS fgsm3,     CASE WHEN max(r.mean_of) IS NULL THEN stddev_samp(m.fgsm3) END AS fgsm3_std,
    avg(m.fgsm8) AS fgsm8,     CASE WHEN max(r.mean_of) IS NULL THEN stddev_samp(m.fgsm8) END AS fgsm8_std,
    avg(m.pgd3) AS pgd3,       CASE WHEN max(r.mean_of) IS NULL THEN stddev_samp(m.pgd3) END AS pgd3_std,
    avg(m.pgd8) AS pgd8,       CASE WHEN max(r.mean_of) IS NULL THEN stddev_samp(m.pgd8) END AS pgd8_std,
    avg(m.apgd3) AS apgd3,     CASE WHEN max(r.mean_of) IS NULL THEN stddev_samp(m.apgd3) END AS apgd3_std,
    avg(m.apgd8) AS apgd8,     CASE WHEN max(r.mean_of) IS NULL THEN stddev_samp(m.apgd8) END AS apgd8_std,
    avg(m.aa3) AS aa3,         CASE WHEN max(r.mean_of) IS NULL THEN stddev_samp(m.aa3) END AS aa3_std,
    avg(m.aa8) AS aa8,         CASE WHEN max(r.mean_of) IS NULL THEN stddev_samp(m.aa8) END AS aa8_std,
    avg(m.square3) AS square3, CASE WHEN max(r.mean_of) IS NULL THEN stddev_samp(m.square3) END AS square3_std,
    avg(m.square8) AS square8, CASE WHEN max(r.mean_of) IS NULL THEN stddev_samp(m.square8) END AS square8_std,
    avg(m.pgd16) AS pgd16,     CASE WHEN max(r.mean_of) IS NULL THEN stddev_samp(m.pgd16) END AS pgd16_std,
    avg(m.pgd32) AS pgd32,     CASE WHEN max(r.mean_of) IS NULL THEN stddev_samp(m.pgd32) END AS pgd32_std,
    avg(m.pgd64) AS pgd64,     CASE WHEN max(r.mean_of) IS NULL THEN stddev_samp(m.pgd64) END AS pgd64_std,
    avg(m.pgd128) AS pgd128,   CASE WHEN max(r.mean_of) IS NULL THEN stddev_samp(m.pgd128) END AS pgd128_std,
    avg(m.pgd255) AS pgd255,   CASE WHEN max(r.mean_of) IS NULL THEN stddev_samp(m.pgd255) END AS pgd255_std
FROM metrics m
LEFT JOIN runs r USING (run_id)
LEFT JOIN architectures a ON a.arch = m.arch
GROUP BY m.arch, m.dataset, r.protocol;

-- Every metrics row with its architecture and its run.
CREATE VIEW results AS
SELECT m.*,
       a.* EXCLUDE (arch),
       r.* EXCLUDE (run_id, arch, dataset, seed, dtype),
       r.dtype AS train_dtype
FROM metrics m
JOIN architectures a USING (arch)
LEFT JOIN runs r USING (run_id);
