-- NAS-RobBench-201 in full, as the paper made it: every one of the 6,466 unique NAS-Bench-201
-- architectures adversarially trained under the paper's protocol (PGD-7, eps 8/255, 50 epochs;
-- protocol 'nasrobbench201') on CIFAR-10, CIFAR-100 and ImageNet16-120 with seeds 0, 1 and 2
-- (58,194 runs), each evaluated clean and under FGSM and PGD-20 at 3/255 and 8/255.
--
-- On a Slurm cluster, N tasks with one GPU each, all writing into one shared folder:
--
--   sbatch --array=0-99 --gpus-per-task=1 --requeue scripts/robbench.sbatch \
--       --bench /shared/nasrobbench201 sql/fill/nasrobbench201.sql
--
-- Without Slurm, the same with N plain processes (one per GPU):
--
--   for i in 0 1 2 3; do CUDA_VISIBLE_DEVICES=$i robbench --shard $i/4 \
--       --bench /shared/nasrobbench201 sql/fill/nasrobbench201.sql & done; wait
--
-- Data: $ROBBENCH_DATA holds the CIFAR-10/100 batches and the ImageNet16 pickles. Each shard
-- trains the architectures at its positions of the list, all runs of each; a stopped or killed task, run again,
-- resumes its runs from their last epoch checkpoints and skips the recorded ones (INSERT OR
-- IGNORE: rows recorded by an earlier attempt stay as they are).
SET VARIABLE unique_archs = (SELECT list(arch ORDER BY arch) FROM architectures WHERE is_unique);
-- An architecture's CIFAR-10 and CIFAR-100 runs (six: two data sets, three seeds) train
-- together as one fused network on a GPU; ImageNet16-120's images are smaller, so its three
-- seeds train together in a second statement.
INSERT OR IGNORE INTO metrics FROM train(getvariable('unique_archs'), dataset := ['cifar10', 'cifar100'], seed := [0, 1, 2]);
INSERT OR IGNORE INTO metrics FROM train(getvariable('unique_archs'), dataset := 'imagenet16-120', seed := [0, 1, 2]);
