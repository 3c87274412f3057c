-- Search strategies on the robust benchmark, as the paper's Table 2: random search (RS),
-- regularized evolution (RE) and local search (LS), each searching by clean or by PGD-8/255
-- accuracy with 100 queries (distinct architectures), 100 trials; the architecture each trial
-- ends with, measured on every metric (mean and standard deviation over the trials), beside the
-- best architecture of the table ("optimum").
--
--   robbench --read-only --mode markdown sql/analysis/search.sql
CREATE TEMP MACRO found(alg, ds, crit) AS TABLE
    SELECT alg AS algorithm, ds AS dataset, crit AS criterion, best_arch AS arch
    FROM search(alg, dataset := ds, metric := crit, budget := 100, trials := 100, seed := 0)
    WHERE step = 100;
CREATE TEMP TABLE found_all AS
              SELECT * FROM found('rs', 'cifar10', 'clean')
    UNION ALL SELECT * FROM found('re', 'cifar10', 'clean')
    UNION ALL SELECT * FROM found('ls', 'cifar10', 'clean')
    UNION ALL SELECT * FROM found('rs', 'cifar10', 'pgd8')
    UNION ALL SELECT * FROM found('re', 'cifar10', 'pgd8')
    UNION ALL SELECT * FROM found('ls', 'cifar10', 'pgd8')
    UNION ALL SELECT * FROM found('rs', 'cifar100', 'clean')
    UNION ALL SELECT * FROM found('re', 'cifar100', 'clean')
    UNION ALL SELECT * FROM found('ls', 'cifar100', 'clean')
    UNION ALL SELECT * FROM found('rs', 'cifar100', 'pgd8')
    UNION ALL SELECT * FROM found('re', 'cifar100', 'pgd8')
    UNION ALL SELECT * FROM found('ls', 'cifar100', 'pgd8')
    UNION ALL SELECT * FROM found('rs', 'imagenet16-120', 'clean')
    UNION ALL SELECT * FROM found('re', 'imagenet16-120', 'clean')
    UNION ALL SELECT * FROM found('ls', 'imagenet16-120', 'clean')
    UNION ALL SELECT * FROM found('rs', 'imagenet16-120', 'pgd8')
    UNION ALL SELECT * FROM found('re', 'imagenet16-120', 'pgd8')
    UNION ALL SELECT * FROM found('ls', 'imagenet16-120', 'pgd8');
CREATE TEMP TABLE optimum AS
              SELECT 'optimum' AS algorithm, dataset, 'clean' AS criterion, arg_max(arch, clean) AS arch
              FROM metrics_mean WHERE protocol = 'nasrobbench201' AND dataset <> 'digits' GROUP BY dataset
    UNION ALL SELECT 'optimum', dataset, 'pgd8', arg_max(arch, pgd8)
              FROM metrics_mean WHERE protocol = 'nasrobbench201' AND dataset <> 'digits' GROUP BY dataset;
SELECT f.dataset, f.criterion, f.algorithm,
       printf('%.2f ± %.2f', 100 * avg(m.clean), 100 * coalesce(stddev_samp(m.clean), 0)) AS "clean %",
       printf('%.2f ± %.2f', 100 * avg(m.pgd8), 100 * coalesce(stddev_samp(m.pgd8), 0)) AS "PGD-8 %",
       printf('%.2f ± %.2f', 100 * avg(m.aa8), 100 * coalesce(stddev_samp(m.aa8), 0)) AS "AutoAttack-8 %"
FROM (SELECT * FROM found_all UNION ALL SELECT * FROM optimum) f
JOIN metrics_mean m ON m.arch = f.arch AND m.dataset = f.dataset AND m.protocol = 'nasrobbench201'
GROUP BY f.dataset, f.criterion, f.algorithm
ORDER BY f.dataset, f.criterion, CASE f.algorithm WHEN 'rs' THEN 0 WHEN 're' THEN 1 WHEN 'ls' THEN 2 ELSE 3 END;
-- Proxy-guided search on the bundled scores: random search over the 100 architectures that have
-- them (budget 20, 100 trials), the found architecture chosen by a training-free score computed
-- on digits at initialisation, and its published CIFAR-10 accuracies. "random pick" takes a
-- random one of the 20, "pgd8 (table)" the best by the published PGD-8 accuracy: the same seed
-- draws the same 20 architectures for every guide, so the rows compare like with like.
CREATE TEMP TABLE drawn AS
    SELECT trial, step, arch FROM search('rs', dataset := 'digits', metric := 'ntk_robust', budget := 20, trials := 100, seed := 0);
CREATE TEMP TABLE guided AS
              SELECT 'ntk_robust' AS guide, best_arch AS arch
              FROM search('rs', dataset := 'digits', metric := 'ntk_robust', budget := 20, trials := 100, seed := 0)
              WHERE step = 20
    UNION ALL SELECT 'ntk_clean' AS guide, best_arch AS arch
              FROM search('rs', dataset := 'digits', metric := 'ntk_clean', budget := 20, trials := 100, seed := 0)
              WHERE step = 20
    UNION ALL SELECT 'knas' AS guide, best_arch AS arch
              FROM search('rs', dataset := 'digits', metric := 'knas', budget := 20, trials := 100, seed := 0)
              WHERE step = 20
    UNION ALL SELECT 'synflow' AS guide, best_arch AS arch
              FROM search('rs', dataset := 'digits', metric := 'synflow', budget := 20, trials := 100, seed := 0)
              WHERE step = 20
    UNION ALL SELECT 'nwot' AS guide, best_arch AS arch
              FROM search('rs', dataset := 'digits', metric := 'nwot', budget := 20, trials := 100, seed := 0)
              WHERE step = 20
    UNION ALL SELECT 'params' AS guide, best_arch AS arch
              FROM search('rs', dataset := 'digits', metric := 'params', budget := 20, trials := 100, seed := 0)
              WHERE step = 20
    -- The condition number: smaller is better (TE-NAS).
    UNION ALL SELECT 'ntk_cond' AS guide, best_arch AS arch
              FROM search('rs', dataset := 'digits', metric := 'ntk_cond', maximize := false, budget := 20, trials := 100, seed := 0)
              WHERE step = 20
    UNION ALL SELECT 'random pick', arch FROM drawn WHERE step = 20
    UNION ALL SELECT 'pgd8 (table)', arg_max(d.arch, m.pgd8)
              FROM drawn d JOIN metrics_mean m ON m.arch = d.arch AND m.dataset = 'cifar10' AND m.protocol = 'nasrobbench201'
              GROUP BY d.trial;
SELECT g.guide,
       printf('%.2f ± %.2f', 100 * avg(m.clean), 100 * stddev_samp(m.clean)) AS "CIFAR-10 clean %",
       printf('%.2f ± %.2f', 100 * avg(m.pgd8), 100 * stddev_samp(m.pgd8)) AS "CIFAR-10 PGD-8 %",
       printf('%.2f ± %.2f', 100 * avg(m.aa8), 100 * stddev_samp(m.aa8)) AS "CIFAR-10 AutoAttack-8 %"
FROM guided g JOIN metrics_mean m ON m.arch = g.arch AND m.dataset = 'cifar10' AND m.protocol = 'nasrobbench201'
GROUP BY g.guide
ORDER BY avg(m.pgd8) DESC;
