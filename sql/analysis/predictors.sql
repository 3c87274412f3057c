-- How well can robust accuracy be predicted from what costs nothing? Held-out Kendall tau of a
-- random forest (300 trees, scikit-learn's defaults) predicting CIFAR-10 PGD-8/255 accuracy
-- (NAS-RobBench-201), trained on 32, 128 and 1,024 cells drawn at random and tested on all the
-- others, mean ± standard deviation over 10 seeds, per feature set. The cells are those that
-- have every feature (all 15,625 for one-hot alone; the 9,445 with NAS-Bench-Suite-Zero's
-- proxies otherwise), each with its isomorphism class's accuracy.
--
--   robbench --read-only --mode markdown sql/analysis/predictors.sql
WITH e AS (
    FROM predictor_eval(features := ['onehot'], seeds := 10)
    UNION ALL FROM predictor_eval(features := ['graph', 'proxies'], seeds := 10)
    UNION ALL FROM predictor_eval(features := ['graph', 'proxies', 'standard'], seeds := 10)
)
SELECT features, any_value(n_test + n_train) AS cells,
       round(avg(kendall) FILTER (WHERE n_train = 32), 3) || ' ± ' || round(stddev(kendall) FILTER (WHERE n_train = 32), 3) AS "32",
       round(avg(kendall) FILTER (WHERE n_train = 128), 3) || ' ± ' || round(stddev(kendall) FILTER (WHERE n_train = 128), 3) AS "128",
       round(avg(kendall) FILTER (WHERE n_train = 1024), 3) || ' ± ' || round(stddev(kendall) FILTER (WHERE n_train = 1024), 3) AS "1024",
       round(avg(top_k_overlap) FILTER (WHERE n_train = 1024), 3) AS top50_overlap_1024
FROM e
GROUP BY features
ORDER BY cells DESC, features;
