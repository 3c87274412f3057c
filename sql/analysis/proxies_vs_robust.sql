-- Zero-cost proxies against robust accuracy over the whole space: Spearman's rank correlation
-- between each of NAS-Bench-Suite-Zero's 13 proxies (at initialisation, computed on every cell
-- whose edges all lie on a path, 9,445 of them) and each NAS-RobBench-201 metric
-- (adversarially trained, 3-seed means; a cell takes its isomorphism class's value), per data
-- set. NB201's standard accuracy is the last row, for scale. The README shows the CIFAR-10 part.
--
--   robbench --read-only sql/analysis/proxies_vs_robust.sql
WITH x AS (
    SELECT arch, dataset, score AS predictor, value
    FROM scores WHERE source = 'nasbench-suite-zero'
    UNION ALL
    SELECT arch, dataset, 'nb201 standard accuracy', accuracy
    FROM standard WHERE source = 'nasbench201' AND attack = 'clean'
)
SELECT * FROM (
SELECT x.dataset, x.predictor, count(*) AS n,
       round(spearman(x.value, m.clean), 3) AS clean,
       round(spearman(x.value, m.fgsm3), 3) AS fgsm3,
       round(spearman(x.value, m.fgsm8), 3) AS fgsm8,
       round(spearman(x.value, m.pgd3), 3) AS pgd3,
       round(spearman(x.value, m.pgd8), 3) AS pgd8,
       round(spearman(x.value, m.aa8), 3) AS aa8
FROM x JOIN metrics_mean m ON m.arch = arch_uid(x.arch) AND m.dataset = x.dataset
WHERE m.protocol = 'nasrobbench201'
GROUP BY x.dataset, x.predictor
)
ORDER BY dataset, predictor = 'nb201 standard accuracy', abs(pgd8) DESC;
