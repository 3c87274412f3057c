-- How well can robust accuracy be predicted from what costs nothing? Held-out Kendall tau of
-- each surrogate model (300 trees) predicting CIFAR-10 PGD-8/255 accuracy (NAS-RobBench-201),
-- trained on 32, 128 and 1,024 cells drawn at random and tested on all the others, mean ±
-- standard deviation over 10 seeds, per feature set and model. The cells are the 9,445 that
-- NAS-Bench-Suite-Zero scored (the anchor's space, for one-hot too), each with its isomorphism
-- class's accuracy; the last rows are one-hot over all 15,625 cells.
--
--   robbench --read-only --mode markdown sql/analysis/predictors.sql
WITH e AS (
    FROM predictor_eval(features := ['onehot'], model := 'forest', seeds := 10, cells := 'SELECT arch FROM cell_features(features := [''proxies''])')
    UNION ALL FROM predictor_eval(features := ['onehot'], model := 'ridge_forest', seeds := 10, cells := 'SELECT arch FROM cell_features(features := [''proxies''])')
    UNION ALL FROM predictor_eval(features := ['graph', 'proxies'], model := 'forest', seeds := 10)
    UNION ALL FROM predictor_eval(features := ['graph', 'proxies'], model := 'extra_trees', seeds := 10)
    UNION ALL FROM predictor_eval(features := ['graph', 'proxies', 'standard'], model := 'forest', seeds := 10)
    UNION ALL FROM predictor_eval(features := ['graph', 'proxies', 'standard'], model := 'extra_trees', seeds := 10)
    UNION ALL FROM predictor_eval(features := ['onehot'], model := 'forest', seeds := 10)
    UNION ALL FROM predictor_eval(features := ['onehot'], model := 'ridge_forest', seeds := 10)
)
SELECT features, model, n_test + n_train AS cells,
       round(avg(kendall) FILTER (WHERE n_train = 32), 4) || ' ± ' || round(stddev(kendall) FILTER (WHERE n_train = 32), 3) AS "32",
       round(avg(kendall) FILTER (WHERE n_train = 128), 4) || ' ± ' || round(stddev(kendall) FILTER (WHERE n_train = 128), 3) AS "128",
       round(avg(kendall) FILTER (WHERE n_train = 1024), 4) || ' ± ' || round(stddev(kendall) FILTER (WHERE n_train = 1024), 3) AS "1024",
       round(avg(top_k_overlap) FILTER (WHERE n_train = 1024), 3) AS top50_overlap_1024
FROM e
GROUP BY features, model, cells
ORDER BY cells, features, model;
