-- Parameters against PGD-8/255 accuracy on CIFAR-10, the Pareto front (fewest parameters,
-- highest accuracy) marked.
--
--   robbench --read-only sql/figures/pareto_params_pgd8.sql
.plot scatter x=params y=pgd8 color=set xlabel="parameters (millions)" title="CIFAR-10: size against robustness" out=figures/pareto_params_pgd8.png
SELECT CASE WHEN f.arch IS NULL THEN 'other architectures' ELSE 'Pareto front' END AS set,
       a.params_cifar10 / 1e6 AS params, m.pgd8
FROM metrics_mean m JOIN architectures a USING (arch)
LEFT JOIN pareto('SELECT arch, params_cifar10 AS params, pgd8 FROM metrics_mean JOIN architectures USING (arch) WHERE dataset = ''cifar10'' AND protocol = ''nasrobbench201''',
                 columns := ['params', 'pgd8'], maximize := [false, true]) f USING (arch)
WHERE m.dataset = 'cifar10' AND m.protocol = 'nasrobbench201'
ORDER BY set DESC;
