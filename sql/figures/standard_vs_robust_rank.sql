-- Standard against adversarial training on CIFAR-10, as rank percentiles among the unique
-- architectures (100 = best): NAS-Bench-201's clean accuracy and Jung et al.'s PGD-8/255
-- accuracy (both standard training) against NAS-RobBench-201's PGD-8/255 accuracy, Spearman
-- in the legend. Clean accuracy after standard training ranks robust architectures well;
-- robustness measured without adversarial training does not.
--
--   robbench --read-only sql/figures/standard_vs_robust_rank.sql
.plot scatter x=standard_percentile y=robust_percentile color=standard fit=spearman percent=off xlabel="percentile under standard training (100 = best)" ylabel="percentile of PGD-8/255 accuracy after adversarial training" title="CIFAR-10: standard versus robust benchmark" out=figures/standard_vs_robust_rank.png
WITH s AS (
    SELECT arch, CASE WHEN attack = 'clean' THEN 'NB201 clean accuracy' ELSE 'Jung et al. PGD-8/255' END AS standard, accuracy
    FROM standard
    WHERE dataset = 'cifar10' AND ((source = 'nasbench201' AND attack = 'clean') OR (source = 'robustness-dataset' AND attack = 'pgd' AND eps = 8 / 255))
),
j AS (SELECT s.standard, s.accuracy, m.pgd8 FROM s JOIN metrics_mean m USING (arch)
      WHERE m.dataset = 'cifar10' AND m.protocol = 'nasrobbench201'),
-- Average ranks (ties share the middle of their run, as Spearman's do), as percentiles.
r AS (SELECT standard,
             rank() OVER (PARTITION BY standard ORDER BY accuracy) + (count(*) OVER (PARTITION BY standard, accuracy) - 1) / 2 AS sr,
             rank() OVER (PARTITION BY standard ORDER BY pgd8) + (count(*) OVER (PARTITION BY standard, pgd8) - 1) / 2 AS rr,
             count(*) OVER (PARTITION BY standard) AS n
      FROM j)
SELECT standard, 100 * (sr - 1) / (n - 1) AS standard_percentile, 100 * (rr - 1) / (n - 1) AS robust_percentile
FROM r
ORDER BY standard DESC;
