//! The rustyline helper: tab completion of keywords, tables, columns, functions and dot commands,
//! and multi-line input that runs only once a statement is ended by ';'.

use rustyline::completion::{Completer, Pair};
use rustyline::validate::{ValidationContext, ValidationResult, Validator};
use rustyline::{Context, Helper, Highlighter, Hinter};

use super::dot;
use super::split::is_complete;

const KEYWORDS: &[&str] = &[
    "SELECT",
    "FROM",
    "WHERE",
    "GROUP",
    "BY",
    "ORDER",
    "LIMIT",
    "OFFSET",
    "HAVING",
    "JOIN",
    "LEFT",
    "RIGHT",
    "INNER",
    "OUTER",
    "FULL",
    "CROSS",
    "ON",
    "USING",
    "AS",
    "AND",
    "OR",
    "NOT",
    "IN",
    "IS",
    "NULL",
    "LIKE",
    "ILIKE",
    "BETWEEN",
    "CASE",
    "WHEN",
    "THEN",
    "ELSE",
    "END",
    "DISTINCT",
    "UNION",
    "ALL",
    "EXCEPT",
    "INTERSECT",
    "WITH",
    "INSERT",
    "INTO",
    "VALUES",
    "UPDATE",
    "SET",
    "DELETE",
    "CREATE",
    "TABLE",
    "VIEW",
    "MACRO",
    "DROP",
    "ALTER",
    "DESCRIBE",
    "SUMMARIZE",
    "SHOW",
    "EXPLAIN",
    "ANALYZE",
    "COPY",
    "TO",
    "ASC",
    "DESC",
    "QUALIFY",
    "WINDOW",
    "OVER",
    "PARTITION",
    "CAST",
    "BEGIN",
    "COMMIT",
    "ROLLBACK",
    "PRAGMA",
    "TRUE",
    "FALSE",
];

#[derive(Helper, Hinter, Highlighter)]
pub struct ReplHelper {
    /// Tables, views, columns and functions of the session, refreshed after each statement.
    pub names: Vec<String>,
}

impl Completer for ReplHelper {
    type Candidate = Pair;

    fn complete(
        &self,
        line: &str,
        pos: usize,
        _: &Context<'_>,
    ) -> rustyline::Result<(usize, Vec<Pair>)> {
        let before = &line[..pos];
        let start = before
            .rfind(|c: char| !(c.is_alphanumeric() || c == '_' || c == '.'))
            .map(|i| i + 1)
            .unwrap_or(0);
        let word = &before[start..];
        if word.is_empty() {
            return Ok((pos, vec![]));
        }
        let pair = |s: &str| Pair { display: s.to_string(), replacement: s.to_string() };
        let mut out: Vec<Pair> = if start == 0 && word.starts_with('.') {
            dot::names().filter(|c| c.starts_with(word)).map(pair).collect()
        } else {
            let lower = word.to_ascii_lowercase();
            let upper_typed = word.chars().next().is_some_and(|c| c.is_ascii_uppercase());
            let keywords = KEYWORDS
                .iter()
                .filter(|k| k.to_ascii_lowercase().starts_with(&lower))
                .map(|k| if upper_typed { pair(k) } else { pair(&k.to_ascii_lowercase()) });
            let names = self
                .names
                .iter()
                .filter(|n| n.to_ascii_lowercase().starts_with(&lower))
                .map(|n| pair(n));
            keywords.chain(names).collect()
        };
        out.sort_by(|a, b| a.display.cmp(&b.display));
        out.dedup_by(|a, b| a.display == b.display);
        Ok((start, out))
    }
}

impl Validator for ReplHelper {
    fn validate(&self, ctx: &mut ValidationContext<'_>) -> rustyline::Result<ValidationResult> {
        let input = ctx.input();
        if input.trim_start().starts_with('.') || is_complete(input) {
            Ok(ValidationResult::Valid(None))
        } else {
            Ok(ValidationResult::Incomplete)
        }
    }
}
