-- Learning curves of the bundled trained runs (100 architectures on digits, 4 epochs of PGD-7
-- adversarial training): adversarial training accuracy and loss per epoch, mean and one
-- standard deviation over the runs.
--
--   robbench --read-only sql/figures/learning_curves.sql
.plot line x=epoch y=train_adv_acc xlabel=epoch ylabel="adversarial training accuracy (%)" title="Digits, 100 runs: training accuracy on PGD-7 examples" out=figures/learning_curves_accuracy.png
SELECT c.epoch, c.train_adv_acc FROM curves c JOIN runs r USING (run_id) WHERE r.dataset = 'digits';
.plot line x=epoch y=train_loss percent=off xlabel=epoch ylabel="training loss" title="Digits, 100 runs: training loss" out=figures/learning_curves_loss.png
SELECT c.epoch, c.train_loss FROM curves c JOIN runs r USING (run_id) WHERE r.dataset = 'digits';
