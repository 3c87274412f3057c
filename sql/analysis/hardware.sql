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
