-- The benchmark tables (SPEC section 3). Each table is stored as Parquet part files in a
-- folder of the same name inside the benchmark folder; these definitions are the source of
-- truth for their columns, order and types. Accuracies are fractions in [0, 1]; the CHECKs
-- reject NaN and out-of-range values before anything is written.

CREATE TABLE architectures (
    arch              INTEGER PRIMARY KEY,   -- NAS-Bench-201 index 0..15624, in its own order
    arch_str          VARCHAR NOT NULL,      -- |op~0|+|op~0|op~1|+|op~0|op~1|op~2|
    uid               INTEGER NOT NULL,      -- smallest index of its isomorphism class
    is_unique         BOOLEAN NOT NULL,      -- arch = uid
    ops               VARCHAR[] NOT NULL,    -- the 6 operations in string order
    n_none            INTEGER NOT NULL,
    n_skip            INTEGER NOT NULL,
    n_conv1x1         INTEGER NOT NULL,
    n_conv3x3         INTEGER NOT NULL,
    n_pool            INTEGER NOT NULL,
    params_cifar10    BIGINT NOT NULL,       -- trainable parameters, C=16 N=5 network
    params_cifar100   BIGINT NOT NULL,
    params_imagenet16 BIGINT NOT NULL,
    flops_cifar10     DOUBLE NOT NULL,       -- MFLOPs per image, NAS-Bench-201's convention
    flops_cifar100    DOUBLE NOT NULL,
    flops_imagenet16  DOUBLE NOT NULL
);

CREATE TABLE runs (
    run_id        VARCHAR NOT NULL,  -- stable: same arch, dataset, seed and protocol, same id
    arch          INTEGER NOT NULL CHECK (arch BETWEEN 0 AND 15624),
    dataset       VARCHAR NOT NULL,
    seed          INTEGER,           -- NULL for a published mean over seeds
    protocol      VARCHAR NOT NULL,  -- 'nasrobbench201' for the paper's adversarial training
    epochs        INTEGER,
    batch_size    INTEGER,
    lr_max        DOUBLE,
    momentum      DOUBLE,
    weight_decay  DOUBLE,
    train_attack  VARCHAR,           -- 'pgd', 'none' (standard training), ...
    train_eps     DOUBLE,
    train_alpha   DOUBLE,
    train_steps   INTEGER,
    n_train       INTEGER,
    train_beta    DOUBLE CHECK (train_beta BETWEEN 0 AND 1),  -- weight of the adversarial loss
    dtype         VARCHAR,           -- arithmetic of training: 'fp32' (the paper's) or 'bf16'
    source        VARCHAR NOT NULL,  -- 'trained' or the name of an imported release
    device        VARCHAR,
    started_at    TIMESTAMP,
    finished_at   TIMESTAMP,
    train_seconds DOUBLE,
    eval_seconds  DOUBLE,
    checkpoint    VARCHAR,           -- safetensors file of the trained weights
    mean_of       INTEGER,           -- a published mean: how many seeds it averages
    provenance    VARCHAR,           -- imported rows: the file and its sha256
    PRIMARY KEY (run_id)
);

CREATE TABLE metrics (
    run_id  VARCHAR NOT NULL,
    arch    INTEGER NOT NULL CHECK (arch BETWEEN 0 AND 15624),
    dataset VARCHAR NOT NULL,
    seed    INTEGER,
    split   VARCHAR NOT NULL,        -- 'test' is what the paper calls "val"
    n_eval  INTEGER,
    dtype   VARCHAR,                 -- arithmetic of the evaluation, 'fp32' or 'bf16' (NULL: published)
    clean   DOUBLE CHECK (clean BETWEEN 0 AND 1),
    fgsm3   DOUBLE CHECK (fgsm3 BETWEEN 0 AND 1),
    fgsm8   DOUBLE CHECK (fgsm8 BETWEEN 0 AND 1),
    pgd3    DOUBLE CHECK (pgd3 BETWEEN 0 AND 1),
    pgd8    DOUBLE CHECK (pgd8 BETWEEN 0 AND 1),
    apgd3   DOUBLE CHECK (apgd3 BETWEEN 0 AND 1),
    apgd8   DOUBLE CHECK (apgd8 BETWEEN 0 AND 1),
    aa3     DOUBLE CHECK (aa3 BETWEEN 0 AND 1),
    aa8     DOUBLE CHECK (aa8 BETWEEN 0 AND 1),
    square3 DOUBLE CHECK (square3 BETWEEN 0 AND 1),
    square8 DOUBLE CHECK (square8 BETWEEN 0 AND 1),
    pgd16   DOUBLE CHECK (pgd16 BETWEEN 0 AND 1),
    pgd32   DOUBLE CHECK (pgd32 BETWEEN 0 AND 1),
    pgd64   DOUBLE CHECK (pgd64 BETWEEN 0 AND 1),
    pgd128  DOUBLE CHECK (pgd128 BETWEEN 0 AND 1),
    pgd255  DOUBLE CHECK (pgd255 BETWEEN 0 AND 1),
    -- AutoAttack's sanity checks that fired (randomised forward pass, probabilities instead of
    -- logits, zero gradients, Square beating the white-box attacks), one per line as
    -- 'attack: message'; NULL when none fired or no AutoAttack ran.
    warnings VARCHAR,
    -- One evaluation per run and split: a repeated INSERT is refused rather than duplicated
    -- (INSERT OR IGNORE / INSERT OR REPLACE say which is meant).
    PRIMARY KEY (run_id, split)
);

CREATE TABLE curves (
    run_id        VARCHAR NOT NULL,
    epoch         INTEGER NOT NULL,
    lr            DOUBLE,
    train_loss    DOUBLE,
    train_adv_acc DOUBLE CHECK (train_adv_acc BETWEEN 0 AND 1),
    seconds       DOUBLE,
    PRIMARY KEY (run_id, epoch)
);

CREATE TABLE corruptions (
    run_id     VARCHAR NOT NULL,
    corruption VARCHAR NOT NULL,
    severity   INTEGER NOT NULL CHECK (severity BETWEEN 1 AND 5),
    accuracy   DOUBLE CHECK (accuracy BETWEEN 0 AND 1),
    n_eval     INTEGER
);

CREATE TABLE scores (
    arch         INTEGER NOT NULL CHECK (arch BETWEEN 0 AND 15624),
    dataset      VARCHAR NOT NULL,
    score        VARCHAR NOT NULL,
    value        DOUBLE,
    batch_size   INTEGER,
    seed         INTEGER,
    eps          DOUBLE,
    beta         DOUBLE CHECK (beta BETWEEN 0 AND 1),
    seconds      DOUBLE,
    attack       VARCHAR,
    batch_offset INTEGER,
    train_mode   BOOLEAN,
    checkpoint   VARCHAR,
    source       VARCHAR,
    dtype        VARCHAR,            -- arithmetic of the network's passes ('fp32', 'bf16')
    provenance   VARCHAR             -- imported rows: the file and its sha256
);

-- What other benchmarks measured on the same cells (data/companion/README.md), keyed on the
-- NB201 index of the cell they measured: an isomorphic cell keeps its own values.

-- Networks trained without adversarial training (NAS-Bench-201's 200 epochs), clean and
-- attacked (Jung et al., ICLR 2023).
CREATE TABLE standard (
    arch       INTEGER NOT NULL CHECK (arch BETWEEN 0 AND 15624),
    dataset    VARCHAR NOT NULL,
    attack     VARCHAR NOT NULL CHECK (attack IN ('clean', 'fgsm', 'pgd', 'apgd-ce', 'square')),
    eps        DOUBLE NOT NULL CHECK (eps BETWEEN 0 AND 1),   -- a fraction like scores.eps; 0 for clean
    accuracy   DOUBLE CHECK (accuracy BETWEEN 0 AND 1),
    source     VARCHAR NOT NULL,     -- the release: 'nasbench201', 'robustness-dataset', ...
    provenance VARCHAR,
    PRIMARY KEY (arch, dataset, attack, eps, source)
);

-- Cost of the network on a device (HW-NAS-Bench, ICLR 2021); NULL where it was not measured.
CREATE TABLE hardware (
    arch       INTEGER NOT NULL CHECK (arch BETWEEN 0 AND 15624),
    dataset    VARCHAR NOT NULL,
    device     VARCHAR NOT NULL,     -- edgegpu, raspi4, edgetpu, pixel3, eyeriss, fpga
    latency_ms DOUBLE CHECK (latency_ms >= 0),
    energy_mj  DOUBLE CHECK (energy_mj >= 0),
    source     VARCHAR NOT NULL,
    provenance VARCHAR,
    PRIMARY KEY (arch, dataset, device, source)
);
