-- Do training-free scores predict robust accuracy? Spearman's rank correlation between every
-- score in the bundled `scores` table and every metric of the published NAS-RobBench-201 table
-- (3-seed means, adversarially trained networks), per data set.
--
-- The scores are those of sql/fill/ntk_sample.sql: 200 unique architectures (pseudo-random,
-- reproducible), at initialisation, on 32 digits images (not CIFAR: this machine has none),
-- PGD-7 at 8/255 for the perturbed inputs. A score marked "@pgd8" was computed on the
-- PGD-8/255 batch instead of the clean one. For reference, the paper reports 0.61 for KNAS with
-- PGD-8/255 inputs against PGD-8/255 accuracy on CIFAR-10, and 0.755 for the condition number.
--
--   robbench sql/analysis/ntk_correlation.sql
WITH s AS (
    SELECT arch,
           score || CASE WHEN eps IS NOT NULL AND score NOT IN ('ntk_robust', 'ntk_twice', 'ntk_mixed', 'ntk_mixed_twice')
                         THEN '@pgd8' ELSE '' END AS score,
           value
    FROM scores
    WHERE dataset = 'digits' AND batch_size = 32 AND seed = 0 AND source = 'test' AND checkpoint IS NULL
)
SELECT m.dataset, s.score, count(*) AS n,
       round(spearman(s.value, m.clean), 3) AS clean,
       round(spearman(s.value, m.fgsm3), 3) AS fgsm3,
       round(spearman(s.value, m.fgsm8), 3) AS fgsm8,
       round(spearman(s.value, m.pgd3), 3) AS pgd3,
       round(spearman(s.value, m.pgd8), 3) AS pgd8,
       round(spearman(s.value, m.aa8), 3) AS aa8
FROM s JOIN metrics_mean m USING (arch)
WHERE m.protocol = 'nasrobbench201'
GROUP BY m.dataset, s.score
ORDER BY m.dataset, s.score;
