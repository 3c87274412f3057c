-- Standard training against adversarial training: Spearman's and Kendall's rank correlation
-- between every metric other benchmarks measured on standard-trained networks (`standard`:
-- NAS-Bench-201's clean accuracy, Jung et al.'s FGSM, PGD, APGD-CE and Square at each radius)
-- and every robust metric of NAS-RobBench-201 (adversarially trained, 3-seed means), per data
-- set, over the unique architectures both measured. The paper compares the two benchmarks by
-- exactly this: Jung et al.'s PGD-8/255 against NAS-RobBench-201's, 0.382 on CIFAR-10.
--
--   robbench --read-only sql/analysis/standard_vs_robust.sql
WITH s AS (
    SELECT arch, dataset, source,
           attack || CASE WHEN eps > 0 THEN '@' || CAST(round(eps * 255, 1) AS VARCHAR) ELSE '' END AS standard,
           accuracy
    FROM standard
),
r AS (
    UNPIVOT (SELECT arch, dataset, clean, fgsm3, fgsm8, pgd3, pgd8, aa8
             FROM metrics_mean WHERE protocol = 'nasrobbench201')
    ON clean, fgsm3, fgsm8, pgd3, pgd8, aa8 INTO NAME robust VALUE value
)
SELECT s.dataset, s.source, s.standard, r.robust, count(*) AS n,
       round(spearman(s.accuracy, r.value), 3) AS spearman,
       round(kendall_tau(s.accuracy, r.value), 3) AS kendall
FROM s JOIN r USING (arch, dataset)
GROUP BY ALL
ORDER BY s.dataset, s.source, s.standard, r.robust;
