-- The paper's Figure 2: clean, FGSM and PGD accuracy at 3/255 and 8/255 and AutoAttack (8/255)
-- of the 6,466 architectures, one figure per data set, chance level marked.
--
--   robbench --read-only sql/figures/accuracy_boxplots.sql
.plot box y=clean,fgsm3,pgd3,fgsm8,pgd8,aa8 ref=0.1 title="CIFAR-10: the 6,466 architectures (chance 10 %)" out=figures/accuracy_boxplots_cifar10.png
SELECT clean, fgsm3, pgd3, fgsm8, pgd8, aa8 FROM metrics_mean WHERE dataset = 'cifar10' AND protocol = 'nasrobbench201';
.plot box y=clean,fgsm3,pgd3,fgsm8,pgd8,aa8 ref=0.01 title="CIFAR-100: the 6,466 architectures (chance 1 %)" out=figures/accuracy_boxplots_cifar100.png
SELECT clean, fgsm3, pgd3, fgsm8, pgd8, aa8 FROM metrics_mean WHERE dataset = 'cifar100' AND protocol = 'nasrobbench201';
.plot box y=clean,fgsm3,pgd3,fgsm8,pgd8,aa8 ref=0.008333 title="ImageNet16-120: the 6,466 architectures (chance 0.83 %)" out=figures/accuracy_boxplots_imagenet16.png
SELECT clean, fgsm3, pgd3, fgsm8, pgd8, aa8 FROM metrics_mean WHERE dataset = 'imagenet16-120' AND protocol = 'nasrobbench201';
