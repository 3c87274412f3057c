-- The cells of the three architectures with the highest PGD-8/255 accuracy on CIFAR-10.
--
--   robbench --read-only sql/figures/top_cells.sql
.plot cells x=arch out=figures/top_cells_cifar10_pgd8.png
SELECT arch FROM metrics_mean WHERE dataset = 'cifar10' AND protocol = 'nasrobbench201' ORDER BY pgd8 DESC LIMIT 3;
