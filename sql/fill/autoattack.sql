-- AutoAttack (standard, eps 8/255: the aa8 column) for every trained run that lacks it, added to
-- its metrics row (INSERT OR REPLACE keeps the row's other columns: evaluate measures on the
-- run's own evaluation images and carries its recorded metrics over).
--
--   sbatch --array=0-99 --gpus-per-task=1 --requeue scripts/robbench.sbatch \
--       --bench /shared/nasrobbench201 sql/fill/autoattack.sql
--
-- Shards split the runs by a hash of the run id, so tasks that compute the list at different
-- moments (some runs already done) still split it the same way. Results are cached per
-- checkpoint, so a task run again attacks nothing twice.
SET VARIABLE missing_aa8 = (
    SELECT coalesce(list(run_id ORDER BY run_id), []::VARCHAR[])
    FROM runs JOIN metrics USING (run_id)
    WHERE runs.source = 'trained' AND runs.checkpoint IS NOT NULL AND metrics.aa8 IS NULL
);
INSERT OR REPLACE INTO metrics FROM evaluate(run_id := getvariable('missing_aa8'), attacks := ['aa8']);
