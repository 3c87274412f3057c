//! Each table function's parameters, declared once, as ripgrep declares its flags: name, SQL
//! type, default and help line. DuckDB's named parameters, the table macros that let the first
//! parameter be given by name too, the shell's `.help FUNCTION` and the set of functions that
//! drive the worker are all derived from these tables.

use duckdb::core::{LogicalTypeHandle, LogicalTypeId};

/// A parameter's SQL type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Type {
    Int,
    Float,
    Bool,
    Text,
    /// Any value: the function reads a number, a string or a list of either.
    Any,
    Ints,
    Floats,
    Bools,
    Texts,
}

impl Type {
    fn id(self) -> LogicalTypeId {
        match self {
            Type::Int | Type::Ints => LogicalTypeId::Bigint,
            Type::Float | Type::Floats => LogicalTypeId::Double,
            Type::Bool | Type::Bools => LogicalTypeId::Boolean,
            Type::Text | Type::Texts => LogicalTypeId::Varchar,
            Type::Any => LogicalTypeId::Any,
        }
    }

    pub fn logical(self) -> LogicalTypeHandle {
        let scalar = LogicalTypeHandle::from(self.id());
        match self {
            Type::Ints | Type::Floats | Type::Bools | Type::Texts => {
                LogicalTypeHandle::list(&scalar)
            }
            _ => scalar,
        }
    }

    /// How the help writes it.
    pub fn sql(self) -> &'static str {
        match self {
            Type::Int => "BIGINT",
            Type::Float => "DOUBLE",
            Type::Bool => "BOOLEAN",
            Type::Text => "VARCHAR",
            Type::Any => "ANY",
            Type::Ints => "BIGINT[]",
            Type::Floats => "DOUBLE[]",
            Type::Bools => "BOOLEAN[]",
            Type::Texts => "VARCHAR[]",
        }
    }
}

/// One parameter: `default` is what the function uses when the parameter is missing or NULL,
/// as the help shows it ("" where there is none or it depends on other parameters).
#[derive(Clone, Copy, Debug)]
pub struct Param {
    pub name: &'static str,
    pub ty: Type,
    pub default: &'static str,
    pub help: &'static str,
}

const fn p(name: &'static str, ty: Type, default: &'static str, help: &'static str) -> Param {
    Param { name, ty, default, help }
}

/// A table function of robbench.
#[derive(Debug)]
pub struct Function {
    /// What users call it.
    pub name: &'static str,
    /// What it does, one line.
    pub about: &'static str,
    /// The positional parameter, if any. With `by_name`, `name` is a table macro over the table
    /// function `robbench_<name>` that takes it by position or by name, since DuckDB's table
    /// functions take a parameter one way only (and cannot be overloaded).
    pub first: Option<Param>,
    pub by_name: bool,
    /// The named parameters, in groups (a group may be shared with another function).
    pub named: &'static [&'static [Param]],
    /// Whether a call can run robbench-worker (minutes to hours of training or attacks).
    pub drives_worker: bool,
}

impl Function {
    /// A function of named parameters only, that does not drive the worker.
    const fn new(
        name: &'static str,
        about: &'static str,
        named: &'static [&'static [Param]],
    ) -> Function {
        Function { name, about, first: None, by_name: false, named, drives_worker: false }
    }

    /// With a first parameter, given by position.
    const fn with_first(self, first: Param) -> Function {
        Function { first: Some(first), ..self }
    }

    /// With a first parameter, given by position or by name (see `first`).
    const fn with_first_by_name(self, first: Param) -> Function {
        Function { first: Some(first), by_name: true, ..self }
    }

    /// Calls may run robbench-worker.
    const fn driving_worker(self) -> Function {
        Function { drives_worker: true, ..self }
    }

    /// The name the table function is registered under.
    pub fn registered(&self) -> String {
        if self.by_name {
            format!("robbench_{}", self.name)
        } else {
            self.name.to_string()
        }
    }

    pub fn params(&self) -> impl Iterator<Item = &'static Param> + '_ {
        self.named.iter().flat_map(|g| g.iter())
    }

    pub fn param(&self, name: &str) -> Option<&'static Param> {
        self.params().find(|p| p.name == name)
    }

    /// The positional parameters, as DuckDB declares them.
    pub fn positional(&self) -> Vec<LogicalTypeHandle> {
        self.first.iter().map(|p| p.ty.logical()).collect()
    }

    /// The named parameters, as DuckDB declares them.
    pub fn named_parameters(&self) -> Vec<(String, LogicalTypeHandle)> {
        self.params().map(|p| (p.name.to_string(), p.ty.logical())).collect()
    }

    /// `CREATE MACRO name(first := NULL, opt := NULL, ...) AS TABLE SELECT * FROM
    /// robbench_name(...)`, for a function whose first parameter may be given by name. NULL means
    /// the default; a missing first parameter reaches the function, whose error names it (DuckDB's
    /// own says only that the macro does not take the arguments).
    pub fn macro_sql(&self) -> Option<String> {
        let first = self.first.filter(|_| self.by_name)?.name;
        let names: Vec<&str> = self.params().map(|p| p.name).collect();
        Some(format!(
            "CREATE MACRO {}({first} := NULL, {}) AS TABLE SELECT * FROM {}({first}, {});",
            self.name,
            names.iter().map(|n| format!("{n} := NULL")).collect::<Vec<_>>().join(", "),
            self.registered(),
            names.iter().map(|n| format!("{n} := {n}")).collect::<Vec<_>>().join(", ")
        ))
    }

    /// The help: the call, what it does, then each parameter's type, default and meaning.
    pub fn help(&self) -> String {
        let mut args: Vec<&str> = self.first.iter().map(|f| f.name).collect();
        if self.params().next().is_some() {
            args.push("name := value, ...");
        }
        let head = format!("{}({})", self.name, args.join(", "));
        let mut out = vec![head, format!("  {}", self.about)];
        let mut all: Vec<Param> = self.first.into_iter().collect();
        all.extend(self.params().copied());
        let width = all.iter().map(|p| p.name.len() + p.ty.sql().len() + 1).max().unwrap_or(0);
        for (i, p) in all.into_iter().enumerate() {
            let left = format!("{} {}", p.name, p.ty.sql());
            let default =
                if p.default.is_empty() { String::new() } else { format!(" [{}]", p.default) };
            let by = if i == 0 && self.first.is_some() {
                if self.by_name {
                    "(first, or by name) "
                } else {
                    "(first) "
                }
            } else {
                ""
            };
            out.push(format!("  {left:<width$}  {by}{}{default}", p.help));
        }
        out.join("\n")
    }
}

/// Every table function that `.help` describes.
pub const FUNCTIONS: [&Function; 10] = [
    &TRAIN,
    &EVALUATE,
    &EVALUATE_CORRUPTIONS,
    &SCORES,
    &SEARCH,
    &PARETO,
    &PREDICT,
    &PREDICTOR_EVAL,
    &CELL_FEATURES,
    &HISTORY,
];

pub fn function(name: &str) -> Option<&'static Function> {
    FUNCTIONS.into_iter().find(|f| f.name == name || f.registered() == name)
}

use Type::*;

const ARCH: Param = p("arch", Any, "", "architectures: an id, a cell string or a list of ids");
const DATA_DIR: Param = p("data_dir", Text, "$ROBBENCH_DATA", "the folder of the data set's files");
const DTYPE: Param = p("dtype", Text, "fp32", "the arithmetic: 'fp32' or 'bf16'");
const COMPUTE_DEVICE: Param =
    p("device", Text, "--device, else cpu", "where to compute: 'cpu', 'cuda' or 'cuda:N'");

/// The training settings: every field of the protocol, the evaluation and the data.
const TRAINING: &[Param] = &[
    p("epochs", Int, "50", "training epochs"),
    p("batch_size", Int, "256", "training batch"),
    p("lr_max", Float, "0.1", "the one-cycle schedule's peak learning rate"),
    p("momentum", Float, "0.9", "SGD momentum"),
    p("weight_decay", Float, "5e-4", "SGD weight decay"),
    p("train_attack", Text, "pgd", "the training attack: 'pgd', 'fgsm' or 'none'"),
    p("train_eps", Float, "8/255", "the training attack's radius"),
    p("train_alpha", Float, "2/255", "the training attack's step"),
    p("train_steps", Int, "7", "the training attack's steps"),
    p("train_beta", Float, "1", "weight of the adversarial loss: (1-beta) CE(x) + beta CE(A(x))"),
    p("attacks", Texts, "clean, fgsm and pgd at 3 and 8", "the evaluation's metrics columns"),
    p("n_train", Int, "all", "training images (the first N)"),
    p("n_eval", Int, "all", "evaluation images (the first N)"),
    DTYPE,
    DATA_DIR,
];

const TRAIN_OWN: &[Param] = &[
    p("dataset", Any, "cifar10", "a data set or a list: cifar10, cifar100, imagenet16, digits"),
    p("seed", Any, "0", "a training seed or a list"),
    p("fuse", Bool, "true on CUDA", "train an architecture's runs as one fused network"),
    COMPUTE_DEVICE,
];

pub const TRAIN: Function = Function::new(
    "train",
    "Trains and evaluates each architecture (NAS-RobBench-201's protocol unless told): one metrics row per run",
    &[TRAIN_OWN, TRAINING],
)
.with_first_by_name(ARCH)
.driving_worker();

const ONE_DATASET: Param =
    p("dataset", Text, "cifar10", "the data set: cifar10, cifar100, imagenet16 or digits");

pub const EVALUATE: Function = Function::new(
    "evaluate",
    "Attacks a trained network (a recorded run, or a checkpoint) and returns its metrics row",
    &[&[
        p("run_id", Any, "", "a recorded run, or a list of them"),
        p("checkpoint", Text, "", "a weights file, with arch and dataset"),
        p("arch", Any, "", "the checkpoint's architecture"),
        ONE_DATASET,
        p("attacks", Texts, "clean, fgsm and pgd at 3 and 8", "the metrics columns to measure"),
        p("n_eval", Int, "the run's", "evaluation images (the first N)"),
        p("dtype", Text, "the run's, else fp32", "the arithmetic: 'fp32' or 'bf16'"),
        p("seed", Int, "the run's, else 0", "the row's seed, which also seeds the attacks"),
        DATA_DIR,
        COMPUTE_DEVICE,
    ]],
)
.driving_worker();

pub const EVALUATE_CORRUPTIONS: Function = Function::new(
    "evaluate_corruptions",
    "Measures a CIFAR-10 or CIFAR-100 network on CIFAR-10-C / CIFAR-100-C: corruptions rows",
    &[&[
        p("run_id", Text, "", "a recorded run"),
        p("checkpoint", Text, "", "a weights file, with arch and dataset"),
        p("arch", Any, "", "the checkpoint's architecture"),
        ONE_DATASET,
        p("seed", Int, "the run's, else 0", "the row's seed"),
        p("corruptions", Texts, "the 15 standard ones", "which corruptions"),
        p("severities", Ints, "1 to 5", "which severities"),
        p("n_eval", Int, "all", "images per corruption and severity (the first N)"),
        p("data_dir", Text, "$ROBBENCH_DATA/CIFAR-10-C", "the folder of <corruption>.npy"),
        COMPUTE_DEVICE,
    ]],
)
.driving_worker();

pub const SCORES: Function = Function::new(
    "scores",
    "Training-free scores of each architecture on one batch: scores rows",
    &[&[
        ONE_DATASET,
        p("score", Any, "ntk_robust", "a score name or a list (NTK family, the 13 proxies)"),
        p("batch_size", Int, "64", "images in the batch"),
        p("batch_offset", Int, "0", "the batch's first image of the evaluation split"),
        p("eps", Float, "8/255 for the robust NTKs", "the radius of the inputs' attack"),
        p("attack", Text, "pgd", "the inputs' attack: 'pgd' (PGD-7) or 'fgsm'"),
        p("beta", Float, "0.5", "the mixed kernels' weight"),
        p("seed", Int, "0", "the initialisation's seed"),
        p("train_mode", Bool, "true at initialisation", "BatchNorm's mode in every pass"),
        DTYPE,
        p("checkpoint", Text, "", "score trained weights (one architecture) instead"),
        p(
            "source",
            Text,
            "test",
            "the images: 'test' (the evaluation split) or 'noise' (Gaussian)",
        ),
        DATA_DIR,
        COMPUTE_DEVICE,
    ]],
)
.with_first_by_name(ARCH)
.driving_worker();

/// The surrogate's options, shared by predict, predictor_eval and search('bananas').
const SURROGATE: &[Param] = &[
    p("features", Texts, "['graph', 'proxies']", "onehot, graph, proxies, standard or score names"),
    p("model", Text, "extra_trees", "the surrogate: 'extra_trees', 'forest' or 'ridge_forest'"),
    p("trees", Int, "300", "trees in the ensemble"),
];

const SEARCH_OWN: &[Param] = &[
    ONE_DATASET,
    p("metric", Text, "pgd8", "a column of metrics_mean or a score name"),
    p("maximize", Text, "true", "maximise the metric (false: minimise)"),
    p("protocol", Text, "nasrobbench201", "the protocol of the table's rows"),
    p("budget", Int, "100", "distinct architectures queried per trial"),
    p("budget_seconds", Float, "", "a budget in simulated GPU seconds instead"),
    p("trials", Int, "1", "independent trials"),
    p("seed", Int, "0", "the seed of the trials' random streams"),
    p("max_params", Float, "", "the most parameters allowed"),
    p("max_flops", Float, "", "the most MFLOPs allowed"),
    p("max_latency", Float, "", "the most latency on device, in ms"),
    p("max_energy", Float, "", "the most energy on device, in mJ"),
    p("device", Text, "edgegpu", "the hardware device of the limits and the objective"),
    p("objective", Text, "", "a second objective: 'latency' or 'energy'"),
    p("reference", Floats, "the worst in the space", "the hypervolume's [value, cost]"),
    p("population", Int, "10 (re), 20 (nsga2)", "evolution's population"),
    p("sample_size", Int, "3", "regularized evolution's tournament size"),
    p("initial", Int, "10", "bananas: random architectures before the surrogate"),
    p("batch", Int, "10", "bananas: architectures queried per round"),
    p("candidates", Int, "100", "bananas: mutations scored per round"),
    p("source", Text, "table", "'table' (look values up) or 'train' (train each query)"),
    p("train_device", Text, "--device, else cpu", "a training search's compute device"),
    p("train_seed", Int, "0", "a training search's training seed"),
];

pub const SEARCH: Function = Function::new(
    "search",
    "Runs a NAS strategy against the benchmark: one row per trial and query",
    &[SEARCH_OWN, SURROGATE, TRAINING],
)
.with_first_by_name(p("algorithm", Text, "rs", "'rs', 're', 'ls', 'nsga2' or 'bananas'"))
.driving_worker();

pub const PARETO: Function = Function::new(
    "pareto",
    "The rows of a query that no other row dominates over two or more columns",
    &[&[
        p("columns", Texts, "", "the columns compared"),
        p("maximize", Bools, "all true", "whether each column is maximised"),
    ]],
)
.with_first(p("query", Text, "", "a SELECT statement"));

/// The options of predict and predictor_eval.
const FIT: &[Param] = &[
    ONE_DATASET,
    p("target", Text, "pgd8", "the column of metrics_mean predicted"),
    p("protocol", Text, "nasrobbench201", "the protocol of the training rows"),
    p("seed", Int, "0", "the seed of the draw and the trees"),
    p("cells", Text, "every cell", "a query whose first column names the cells of the space"),
];

pub const PREDICT: Function = Function::new(
    "predict",
    "Fits a surrogate on a few architectures and predicts every cell, with its spread",
    &[
        FIT,
        SURROGATE,
        &[
            p("n", Int, "128", "labelled cells drawn at random"),
            p("train", Text, "", "a query whose first column names the labelled architectures"),
            p("archs", Texts, "every cell", "the cells predicted"),
        ],
    ],
);

pub const PREDICTOR_EVAL: Function = Function::new(
    "predictor_eval",
    "Held-out Kendall tau, Spearman and top-k overlap of the surrogate, per size and seed",
    &[
        FIT,
        SURROGATE,
        &[
            p("sizes", Ints, "[32, 128, 1024]", "labelled cells per fit"),
            p("seeds", Int, "10", "draws per size"),
            p("top_k", Int, "50", "the top-k overlap's k"),
        ],
    ],
);

pub const CELL_FEATURES: Function = Function::new(
    "cell_features",
    "The surrogate's feature matrix: one row per cell that has every feature",
    &[&[
        ONE_DATASET,
        p(
            "features",
            Texts,
            "['graph', 'proxies']",
            "onehot, graph, proxies, standard or score names",
        ),
    ]],
);

pub const HISTORY: Function = Function::new(
    "history",
    "The benchmark's commits over all its tables: version, time, table, rows, who",
    &[],
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_within_a_function() {
        for f in FUNCTIONS {
            let mut names: Vec<&str> = f.first.iter().chain(f.params()).map(|p| p.name).collect();
            let n = names.len();
            names.sort();
            names.dedup();
            assert_eq!(names.len(), n, "{}: a parameter is declared twice", f.name);
        }
    }

    #[test]
    fn a_macro_passes_every_parameter_through() {
        let m = TRAIN.macro_sql().unwrap();
        assert!(m.starts_with("CREATE MACRO train(arch := NULL, "), "{m}");
        assert!(m.contains("FROM robbench_train(arch, "), "{m}");
        for p in TRAIN.params() {
            assert!(m.contains(&format!("{0} := NULL", p.name)), "{} not declared: {m}", p.name);
            assert!(m.contains(&format!("{0} := {0}", p.name)), "{} not passed: {m}", p.name);
        }
        assert_eq!(PARETO.macro_sql(), None);
    }

    #[test]
    fn help_lists_each_parameter_with_its_default() {
        let h = SEARCH.help();
        assert!(h.starts_with("search(algorithm, name := value, ...)"), "{h}");
        for p in SEARCH.params() {
            assert!(h.lines().any(|l| l.trim_start().starts_with(&format!("{} ", p.name))), "{h}");
        }
        assert!(h.contains("budget BIGINT") && h.contains("[100]"), "{h}");
        assert_eq!(function("robbench_search").map(|f| f.name), Some("search"));
        assert!(HISTORY.help().starts_with("history()\n"), "{}", HISTORY.help());
        assert!(PREDICT.help().starts_with("predict(name := value, ...)"), "{}", PREDICT.help());
    }
}
