-- Training-free scores against the published PGD-8/255 accuracy on CIFAR-10: robbench's bundled
-- ones (digits, at initialisation), one figure per family, then NAS-Bench-Suite-Zero's; a
-- score's value is shown as its rank among the architectures (scores differ by orders of
-- magnitude), Spearman in the legend.
--
--   robbench --read-only sql/figures/scores_vs_pgd8.sql
CREATE TEMP TABLE ranked AS
    SELECT s.score, percent_rank() OVER (PARTITION BY s.score ORDER BY s.value) AS score_rank, m.pgd8
    FROM (SELECT arch, score, avg(value) AS value FROM scores WHERE dataset = 'digits' AND value IS NOT NULL GROUP BY ALL) s
    JOIN metrics_mean m ON m.arch = arch_uid(s.arch) AND m.dataset = 'cifar10' AND m.protocol = 'nasrobbench201';
.plot scatter x=score_rank y=pgd8 color=score fit=spearman percent=off xlabel="score, rank among the architectures" ylabel="CIFAR-10 PGD-8/255 accuracy" title="NTK family" out=figures/scores_ntk_vs_pgd8.png
SELECT score, score_rank, pgd8 FROM ranked WHERE score LIKE 'ntk%' OR score = 'knas' ORDER BY score;
.plot scatter x=score_rank y=pgd8 color=score fit=spearman percent=off xlabel="score, rank among the architectures" ylabel="CIFAR-10 PGD-8/255 accuracy" title="Zero-cost proxies computed by robbench on digits" out=figures/scores_proxies_vs_pgd8.png
SELECT score, score_rank, pgd8 FROM ranked WHERE score IN ('synflow', 'snip', 'grad_norm', 'jacov', 'nwot', 'params') ORDER BY score;
-- NAS-Bench-Suite-Zero's proxies (CIFAR-10, at initialisation) over the whole space: every cell
-- that has them, against its class's PGD-8/255 accuracy; zen, which tracks nothing, is drawn
-- first, underneath the others.
CREATE TEMP TABLE zc AS
    SELECT s.score, percent_rank() OVER (PARTITION BY s.score ORDER BY s.value) AS score_rank, m.pgd8
    FROM scores s
    JOIN metrics_mean m ON m.arch = arch_uid(s.arch) AND m.dataset = s.dataset AND m.protocol = 'nasrobbench201'
    WHERE s.source = 'nasbench-suite-zero' AND s.dataset = 'cifar10' AND s.score IN ('nwot', 'synflow', 'jacov', 'snip', 'zen');
.plot scatter x=score_rank y=pgd8 color=score fit=spearman percent=off xlabel="proxy, rank among the 9,445 cells" ylabel="CIFAR-10 PGD-8/255 accuracy" title="NAS-Bench-Suite-Zero proxies, CIFAR-10" out=figures/scores_suite_zero_vs_pgd8.png
SELECT score, score_rank, pgd8 FROM zc ORDER BY score <> 'zen', score;
