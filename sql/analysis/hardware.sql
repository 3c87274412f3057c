-- Robustness under a latency budget: per HW-NAS-Bench device, the most robust architecture on
-- CIFAR-10 (PGD-8/255, NAS-RobBench-201) whose latency is at most the device's median over the
-- space, beside the most robust one overall, and how many unique architectures are on the
-- accuracy-latency Pareto front. Latencies are the unique architecture's own measurement.
--
--   robbench --read-only sql/analysis/hardware.sql
CREATE TEMP TABLE lat AS
    SELECT h.device, m.arch, m.arch_str, m.pgd8, h.latency_ms
    FROM metrics_mean m
    JOIN hardware h ON h.arch = m.arch AND h.dataset = m.dataset
    WHERE m.dataset = 'cifar10' AND m.protocol = 'nasrobbench201' AND m.arch = arch_uid(m.arch)
      AND h.latency_ms IS NOT NULL;
WITH cap AS (SELECT device, median(latency_ms) AS cap_ms FROM lat GROUP BY device),
best AS (
    SELECT l.device, c.cap_ms, arg_max(l.arch, l.pgd8) AS arch, max(l.pgd8) AS pgd8,
           arg_max(l.latency_ms, l.pgd8) AS latency_ms
    FROM lat l JOIN cap c USING (device) WHERE l.latency_ms <= c.cap_ms GROUP BY ALL
),
overall AS (
    SELECT device, arg_max(arch, pgd8) AS best_arch, max(pgd8) AS best_pgd8,
           arg_max(latency_ms, pgd8) AS best_latency_ms
    FROM lat GROUP BY device
)
SELECT b.device, round(b.cap_ms, 3) AS cap_ms, b.arch, round(b.pgd8, 4) AS pgd8,
       round(b.latency_ms, 3) AS latency_ms, o.best_arch, round(o.best_pgd8, 4) AS best_pgd8,
       round(o.best_latency_ms, 3) AS best_latency_ms
FROM best b JOIN overall o USING (device)
ORDER BY b.device;
-- Multi-objective search, PGD-8/255 against edgegpu latency: every strategy's hypervolume of
-- the front of what it queried (against the space's worst accuracy and largest latency), mean
-- and standard deviation over 50 trials at budgets 25, 50 and 100. NSGA-II: population 20.
WITH runs AS (
    SELECT * FROM search('rs', objective := 'latency', budget := 100, trials := 50)
    UNION ALL SELECT * FROM search('re', objective := 'latency', budget := 100, trials := 50)
    UNION ALL SELECT * FROM search('ls', objective := 'latency', budget := 100, trials := 50)
    UNION ALL SELECT * FROM search('nsga2', objective := 'latency', budget := 100, trials := 50)
)
SELECT algorithm,
       round(avg(hypervolume) FILTER (WHERE step = 25), 4) || ' ± ' || round(stddev(hypervolume) FILTER (WHERE step = 25), 4) AS hv_25,
       round(avg(hypervolume) FILTER (WHERE step = 50), 4) || ' ± ' || round(stddev(hypervolume) FILTER (WHERE step = 50), 4) AS hv_50,
       round(avg(hypervolume) FILTER (WHERE step = 100), 4) || ' ± ' || round(stddev(hypervolume) FILTER (WHERE step = 100), 4) AS hv_100,
       round(avg(len(front)) FILTER (WHERE step = 100), 1) AS front_100
FROM runs
GROUP BY algorithm
ORDER BY avg(hypervolume) FILTER (WHERE step = 100);
