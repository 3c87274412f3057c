-- Spearman's rank correlation between the metrics (CIFAR-10), and between the data sets for
-- PGD-8/255 accuracy.
--
--   robbench --read-only sql/figures/spearman_heatmaps.sql
CREATE TEMP TABLE long AS
    UNPIVOT (SELECT arch, clean, fgsm3, pgd3, fgsm8, pgd8, aa8 FROM metrics_mean
             WHERE dataset = 'cifar10' AND protocol = 'nasrobbench201')
    ON clean, fgsm3, pgd3, fgsm8, pgd8, aa8 INTO NAME metric VALUE v;
.plot heatmap x=m1 y=m2 value=rho percent=off xlabel=metric ylabel=metric title="CIFAR-10: Spearman between metrics" out=figures/spearman_metrics_cifar10.png
SELECT l1.metric AS m1, l2.metric AS m2, spearman(l1.v, l2.v) AS rho
FROM long l1 JOIN long l2 USING (arch) GROUP BY l1.metric, l2.metric
ORDER BY list_position(['clean', 'fgsm3', 'pgd3', 'fgsm8', 'pgd8', 'aa8'], m1),
         list_position(['clean', 'fgsm3', 'pgd3', 'fgsm8', 'pgd8', 'aa8'], m2);
CREATE TEMP TABLE per_dataset AS
    SELECT arch, dataset, pgd8 FROM metrics_mean WHERE protocol = 'nasrobbench201' AND dataset <> 'digits';
.plot heatmap x=d1 y=d2 value=rho percent=off xlabel="data set" ylabel="data set" title="PGD-8/255 accuracy: Spearman between data sets" out=figures/spearman_datasets_pgd8.png
SELECT p1.dataset AS d1, p2.dataset AS d2, spearman(p1.pgd8, p2.pgd8) AS rho
FROM per_dataset p1 JOIN per_dataset p2 USING (arch) GROUP BY p1.dataset, p2.dataset ORDER BY d1, d2;
