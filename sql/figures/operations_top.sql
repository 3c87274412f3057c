-- Which operation each edge of the cell has among the 10 and the 100 architectures with the
-- highest PGD-8/255 accuracy on CIFAR-10 (the paper: 3x3 convolutions matter).
--
--   robbench --read-only sql/figures/operations_top.sql
CREATE TEMP TABLE ranked AS
    SELECT m.arch, a.ops, row_number() OVER (ORDER BY m.pgd8 DESC) AS r
    FROM metrics_mean m JOIN architectures a USING (arch)
    WHERE m.dataset = 'cifar10' AND m.protocol = 'nasrobbench201';
CREATE TEMP TABLE edges AS
    SELECT r, ['1<-0', '2<-0', '2<-1', '3<-0', '3<-1', '3<-2'][e] AS edge, ops[e] AS op
    FROM ranked, range(1, 7) t(e);
.plot heatmap x=edge y=op value=share percent=off title="Top 10 by PGD-8 (CIFAR-10): share of each operation per edge" out=figures/operations_top10.png
SELECT edge, op, count(*) / 10 AS share FROM edges WHERE r <= 10 GROUP BY ALL ORDER BY edge, op;
.plot heatmap x=edge y=op value=share percent=off title="Top 100 by PGD-8 (CIFAR-10): share of each operation per edge" out=figures/operations_top100.png
SELECT edge, op, count(*) / 100 AS share FROM edges WHERE r <= 100 GROUP BY ALL ORDER BY edge, op;
