-- The training-free scores bundled with robbench (data/ntk_scores.parquet), behind
-- sql/analysis/ntk_correlation.sql: every score for 100 unique NAS-Bench-201 architectures at
-- initialisation (seed 0), on the first 32 images of digits' evaluation split, PGD-7 at 8/255
-- (step 2/255, random start) for the perturbed inputs, BatchNorm in training mode (TE-NAS).
-- The sample is pseudo-random and reproducible with any tool: the unique architectures ordered
-- by the MD5 of 'ntk-' followed by their decimal index, first 200, of which the 100 with the
-- smallest indices (the budget of one session's CPU time; the computation goes in index order).
--
--   robbench --bench /tmp/ntk-bench --threads 1 sql/fill/ntk_sample.sql
--
-- First call: clean inputs (the robust NTK family perturbs its own, at 8/255). Second call: the
-- scores that take a batch, on the PGD-8/255 batch instead (the paper's "robust inputs").
SET VARIABLE ntk_sample = (
    SELECT list(arch ORDER BY arch)
    FROM (SELECT arch FROM (SELECT arch FROM architectures WHERE is_unique ORDER BY md5('ntk-' || arch::VARCHAR) LIMIT 200)
          ORDER BY arch LIMIT 100)
);
INSERT INTO scores FROM scores(getvariable('ntk_sample'), dataset := 'digits', batch_size := 32, seed := 0,
    score := ['ntk_clean', 'ntk_robust', 'ntk_twice', 'ntk_mixed', 'ntk_mixed_twice', 'ntk_cond', 'knas',
              'synflow', 'snip', 'grad_norm', 'grasp', 'fisher', 'jacov', 'nwot', 'plain', 'l2_norm', 'params', 'flops']);
INSERT INTO scores FROM scores(getvariable('ntk_sample'), dataset := 'digits', batch_size := 32, seed := 0, eps := 8/255,
    score := ['ntk_cond', 'knas', 'snip', 'grad_norm', 'grasp', 'fisher', 'jacov', 'nwot', 'plain']);
