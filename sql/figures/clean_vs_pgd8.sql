-- Clean against PGD-8/255 accuracy of every architecture, per data set, Spearman's rank
-- correlation in the legend.
--
--   robbench --read-only sql/figures/clean_vs_pgd8.sql
.plot scatter x=clean y=pgd8 color=dataset fit=spearman xlabel="clean accuracy (%)" ylabel="PGD-8/255 accuracy (%)" title="Clean versus robust accuracy" out=figures/clean_vs_pgd8.png
SELECT dataset, clean, pgd8 FROM metrics_mean WHERE protocol = 'nasrobbench201' AND dataset <> 'digits' ORDER BY dataset;
