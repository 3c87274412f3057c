-- PGD-8/255 accuracy on CIFAR-10 (NAS-RobBench-201) against latency on each HW-NAS-Bench
-- device, the Pareto front (fastest for its robustness) marked. One figure per device. (pareto
-- runs its query on the session's connection, which does not see this script's temp table.)
--
--   robbench --read-only sql/figures/latency_pareto.sql
CREATE TEMP TABLE lat AS
    SELECT h.device, m.arch, m.pgd8, h.latency_ms
    FROM metrics_mean m JOIN hardware h ON h.arch = m.arch AND h.dataset = m.dataset
    WHERE m.dataset = 'cifar10' AND m.protocol = 'nasrobbench201' AND m.arch = arch_uid(m.arch)
      AND h.latency_ms IS NOT NULL;
.plot scatter x=latency_ms y=pgd8 color=set xlabel="latency on Jetson TX2 (edgegpu) (ms)" ylabel="PGD-8/255 accuracy (%)" title="CIFAR-10: robustness against latency, Jetson TX2 (edgegpu)" out=figures/latency_pareto_edgegpu.png
SELECT CASE WHEN f.arch IS NULL THEN 'other architectures' ELSE 'Pareto front' END AS set, l.latency_ms, l.pgd8
FROM lat l
LEFT JOIN pareto('SELECT m.arch, h.latency_ms, m.pgd8 FROM metrics_mean m JOIN hardware h ON h.arch = m.arch AND h.dataset = m.dataset WHERE m.dataset = ''cifar10'' AND m.protocol = ''nasrobbench201'' AND m.arch = arch_uid(m.arch) AND h.device = ''edgegpu''', columns := ['latency_ms', 'pgd8'], maximize := [false, true]) f USING (arch)
WHERE l.device = 'edgegpu'
ORDER BY set DESC;
.plot scatter x=latency_ms y=pgd8 color=set xlabel="latency on Raspberry Pi 4 (ms)" ylabel="PGD-8/255 accuracy (%)" title="CIFAR-10: robustness against latency, Raspberry Pi 4" out=figures/latency_pareto_raspi4.png
SELECT CASE WHEN f.arch IS NULL THEN 'other architectures' ELSE 'Pareto front' END AS set, l.latency_ms, l.pgd8
FROM lat l
LEFT JOIN pareto('SELECT m.arch, h.latency_ms, m.pgd8 FROM metrics_mean m JOIN hardware h ON h.arch = m.arch AND h.dataset = m.dataset WHERE m.dataset = ''cifar10'' AND m.protocol = ''nasrobbench201'' AND m.arch = arch_uid(m.arch) AND h.device = ''raspi4''', columns := ['latency_ms', 'pgd8'], maximize := [false, true]) f USING (arch)
WHERE l.device = 'raspi4'
ORDER BY set DESC;
.plot scatter x=latency_ms y=pgd8 color=set xlabel="latency on Edge TPU (ms)" ylabel="PGD-8/255 accuracy (%)" title="CIFAR-10: robustness against latency, Edge TPU" out=figures/latency_pareto_edgetpu.png
SELECT CASE WHEN f.arch IS NULL THEN 'other architectures' ELSE 'Pareto front' END AS set, l.latency_ms, l.pgd8
FROM lat l
LEFT JOIN pareto('SELECT m.arch, h.latency_ms, m.pgd8 FROM metrics_mean m JOIN hardware h ON h.arch = m.arch AND h.dataset = m.dataset WHERE m.dataset = ''cifar10'' AND m.protocol = ''nasrobbench201'' AND m.arch = arch_uid(m.arch) AND h.device = ''edgetpu''', columns := ['latency_ms', 'pgd8'], maximize := [false, true]) f USING (arch)
WHERE l.device = 'edgetpu'
ORDER BY set DESC;
.plot scatter x=latency_ms y=pgd8 color=set xlabel="latency on Pixel 3 (ms)" ylabel="PGD-8/255 accuracy (%)" title="CIFAR-10: robustness against latency, Pixel 3" out=figures/latency_pareto_pixel3.png
SELECT CASE WHEN f.arch IS NULL THEN 'other architectures' ELSE 'Pareto front' END AS set, l.latency_ms, l.pgd8
FROM lat l
LEFT JOIN pareto('SELECT m.arch, h.latency_ms, m.pgd8 FROM metrics_mean m JOIN hardware h ON h.arch = m.arch AND h.dataset = m.dataset WHERE m.dataset = ''cifar10'' AND m.protocol = ''nasrobbench201'' AND m.arch = arch_uid(m.arch) AND h.device = ''pixel3''', columns := ['latency_ms', 'pgd8'], maximize := [false, true]) f USING (arch)
WHERE l.device = 'pixel3'
ORDER BY set DESC;
.plot scatter x=latency_ms y=pgd8 color=set xlabel="latency on Eyeriss (ms)" ylabel="PGD-8/255 accuracy (%)" title="CIFAR-10: robustness against latency, Eyeriss" out=figures/latency_pareto_eyeriss.png
SELECT CASE WHEN f.arch IS NULL THEN 'other architectures' ELSE 'Pareto front' END AS set, l.latency_ms, l.pgd8
FROM lat l
LEFT JOIN pareto('SELECT m.arch, h.latency_ms, m.pgd8 FROM metrics_mean m JOIN hardware h ON h.arch = m.arch AND h.dataset = m.dataset WHERE m.dataset = ''cifar10'' AND m.protocol = ''nasrobbench201'' AND m.arch = arch_uid(m.arch) AND h.device = ''eyeriss''', columns := ['latency_ms', 'pgd8'], maximize := [false, true]) f USING (arch)
WHERE l.device = 'eyeriss'
ORDER BY set DESC;
.plot scatter x=latency_ms y=pgd8 color=set xlabel="latency on FPGA (ms)" ylabel="PGD-8/255 accuracy (%)" title="CIFAR-10: robustness against latency, FPGA" out=figures/latency_pareto_fpga.png
SELECT CASE WHEN f.arch IS NULL THEN 'other architectures' ELSE 'Pareto front' END AS set, l.latency_ms, l.pgd8
FROM lat l
LEFT JOIN pareto('SELECT m.arch, h.latency_ms, m.pgd8 FROM metrics_mean m JOIN hardware h ON h.arch = m.arch AND h.dataset = m.dataset WHERE m.dataset = ''cifar10'' AND m.protocol = ''nasrobbench201'' AND m.arch = arch_uid(m.arch) AND h.device = ''fpga''', columns := ['latency_ms', 'pgd8'], maximize := [false, true]) f USING (arch)
WHERE l.device = 'fpga'
ORDER BY set DESC;
