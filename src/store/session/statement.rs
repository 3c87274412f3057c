//! What a statement does, read from its text before DuckDB runs it: whether it changes a
//! benchmark table and how (an append, a rewrite), the tables and views it names, and whether
//! an UPDATE's or DELETE's WHERE clause alone picks its rows.

use std::collections::HashSet;

use super::super::table::TableDef;
use super::super::{OnKey, TABLES};

/// What a statement does to the benchmark's tables.
#[derive(Clone, Debug, PartialEq)]
pub enum Write {
    /// Nothing: it runs as it is.
    None,
    /// A plain insert into `table`, whose name lies at `span` of the statement.
    Insert { table: &'static str, on_key: OnKey, span: (usize, usize) },
    /// Any other change of `table`.
    Rewrite { table: &'static str, operation: &'static str },
}

/// For an UPDATE or DELETE of `def`'s table whose WHERE clause alone picks the rows it changes:
/// the name its rows go by in the statement and that condition. None when it may read or
/// change more: the table named again (a subquery), UPDATE ... FROM, DELETE ... USING, a
/// key column assigned (DuckDB checks a new key against the rows it holds), or a condition
/// that gives another answer when evaluated again.
pub(super) fn narrow(sql: &str, def: &TableDef) -> Option<(String, String)> {
    let t = tokens(sql);
    let word = |k: usize| t.get(k).map(|x| x.0.as_str()).unwrap_or("");
    if t.iter().filter(|x| x.0 == def.name).count() != 1 {
        return None;
    }
    let (mut k, update) = match word(0) {
        "update" => (1, true),
        "delete" if word(1) == "from" => (2, false),
        _ => return None,
    };
    let (_, _, next) = table_at(&t, k)?;
    k = next;
    let mut alias = def.name.to_string();
    if word(k) == "as" {
        alias = word(k + 1).to_string();
        k += 2;
    } else if !matches!(word(k), "set" | "where" | "") {
        alias = word(k).to_string();
        k += 1;
    }
    // The clauses at depth 0 after the name: SET (an UPDATE's), WHERE, RETURNING.
    let mut depth = 0;
    let (mut at_where, mut at_returning) = (None, None);
    let mut assigned = Vec::new();
    for (j, token) in t.iter().enumerate().skip(k) {
        match token.0.as_str() {
            "(" => depth += 1,
            ")" => depth -= 1,
            "where" if depth == 0 && at_where.is_none() => at_where = Some(j),
            "returning" if depth == 0 => at_returning = Some(j),
            "from" | "using" if depth == 0 && at_where.is_none() => return None,
            "=" if depth == 0
                && at_where.is_none()
                && matches!(word(j.saturating_sub(2)), "set" | ",") =>
            {
                assigned.push(word(j - 1).to_string());
            }
            _ => {}
        }
    }
    if update && (word(k) != "set" || assigned.is_empty()) || !update && Some(k) != at_where {
        return None;
    }
    if assigned.iter().any(|c| def.key.iter().any(|&i| def.columns[i].name == *c)) {
        return None;
    }
    let start = t[at_where?].2;
    let end = at_returning.map(|j| t[j].1).unwrap_or(sql.len());
    let condition = sql[start..end].trim().trim_end_matches(';').trim();
    let volatile =
        ["random", "uuid", "gen_random_uuid", "nextval", "setseed", "now", "current_timestamp"];
    if condition.is_empty() || t.iter().any(|x| volatile.contains(&x.0.as_str())) {
        return None;
    }
    Some((alias, condition.to_string()))
}

/// Every word of `sql`, lowercased, strings and comments included (a string may be a query, a
/// comment costs at most a table read in vain).
pub(super) fn words(sql: &str) -> HashSet<String> {
    sql.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|w| !w.is_empty())
        .map(|w| w.to_ascii_lowercase())
        .collect()
}

/// Words, quoted identifiers and symbols of a statement, with their byte spans; strings and
/// comments are skipped.
pub(super) fn tokens(sql: &str) -> Vec<(String, usize, usize)> {
    let b = sql.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_whitespace() {
            i += 1;
        } else if sql[i..].starts_with("--") {
            i = sql[i..].find('\n').map(|k| i + k).unwrap_or(b.len());
        } else if sql[i..].starts_with("/*") {
            i = sql[i + 2..].find("*/").map(|k| i + 2 + k + 2).unwrap_or(b.len());
        } else if c == b'\'' {
            i += 1;
            while i < b.len() {
                if b[i] == b'\'' && b.get(i + 1) == Some(&b'\'') {
                    i += 2;
                } else if b[i] == b'\'' {
                    i += 1;
                    break;
                } else {
                    i += 1;
                }
            }
        } else if c == b'"' {
            let start = i;
            i += 1;
            while i < b.len() && b[i] != b'"' {
                i += 1;
            }
            i = (i + 1).min(b.len());
            out.push((
                sql[start + 1..i.saturating_sub(1).max(start + 1)].to_ascii_lowercase(),
                start,
                i,
            ));
        } else if c.is_ascii_alphanumeric() || c == b'_' {
            let start = i;
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                i += 1;
            }
            out.push((sql[start..i].to_ascii_lowercase(), start, i));
        } else {
            out.push((sql[i..i + 1].to_string(), i, i + 1));
            i += 1;
        }
    }
    out
}

/// The benchmark table a name token (possibly `main.t` or `"t"`) names, with the span of the
/// whole name, starting at token `k`.
fn table_at(
    t: &[(String, usize, usize)],
    k: usize,
) -> Option<(&'static str, (usize, usize), usize)> {
    let (mut name, start, mut end, mut next) = (t.get(k)?.0.as_str(), t[k].1, t[k].2, k + 1);
    if matches!(name, "main" | "memory") && t.get(k + 1).is_some_and(|x| x.0 == ".") {
        let n = t.get(k + 2)?;
        (name, end, next) = (n.0.as_str(), n.2, k + 3);
    }
    TABLES.iter().find(|x| **x == name).map(|x| (*x, (start, end), next))
}

/// What `sql` does to the benchmark's tables.
pub fn classify(sql: &str) -> Write {
    let t = tokens(sql);
    let word = |k: usize| t.get(k).map(|x| x.0.as_str()).unwrap_or("");
    let mut k = 0;
    while word(k) == "(" {
        k += 1;
    }
    let mentions = |table: &str| t.iter().filter(|x| x.0 == table).count();
    match word(k) {
        "insert" => {
            let mut j = k + 1;
            let mut on_key = OnKey::Refuse;
            if word(j) == "or" {
                on_key = match word(j + 1) {
                    "replace" => OnKey::Replace,
                    "ignore" => OnKey::Ignore,
                    _ => OnKey::Refuse,
                };
                j += 2;
            }
            if word(j) != "into" {
                return Write::None;
            }
            let Some((table, span, _)) = table_at(&t, j + 1) else { return Write::None };
            let on_conflict = t.windows(2).any(|w| w[0].0 == "on" && w[1].0 == "conflict");
            if on_conflict || mentions(table) > 1 {
                return Write::Rewrite { table, operation: "INSERT" };
            }
            Write::Insert { table, on_key, span }
        }
        "update" => match table_at(&t, k + 1) {
            Some((table, ..)) => Write::Rewrite { table, operation: "UPDATE" },
            None => Write::None,
        },
        "delete" if word(k + 1) == "from" => match table_at(&t, k + 2) {
            Some((table, ..)) => Write::Rewrite { table, operation: "DELETE" },
            None => Write::None,
        },
        "truncate" => {
            let j = if word(k + 1) == "table" { k + 2 } else { k + 1 };
            match table_at(&t, j) {
                Some((table, ..)) => Write::Rewrite { table, operation: "TRUNCATE" },
                None => Write::None,
            }
        }
        "copy" => match table_at(&t, k + 1) {
            Some((table, _, next))
                if t[next..].iter().any(|x| x.0 == "from") && word(next) != "to" =>
            {
                Write::Rewrite { table, operation: "INSERT" }
            }
            _ => Write::None,
        },
        "with" => {
            // A change after common table expressions: the first INSERT INTO, UPDATE or
            // DELETE FROM at depth 0 names it.
            let inserts_into = |j: usize| {
                (j >= 1 && word(j - 1) == "insert")
                    || (j >= 3 && word(j - 3) == "insert" && word(j - 2) == "or")
            };
            let mut depth = 0i32;
            for j in k..t.len() {
                match t[j].0.as_str() {
                    "(" => depth += 1,
                    ")" => depth -= 1,
                    "into" if depth == 0 && inserts_into(j) => {
                        if let Some((table, ..)) = table_at(&t, j + 1) {
                            return Write::Rewrite { table, operation: "INSERT" };
                        }
                    }
                    "update" if depth == 0 => {
                        if let Some((table, ..)) = table_at(&t, j + 1) {
                            return Write::Rewrite { table, operation: "UPDATE" };
                        }
                    }
                    "from" if depth == 0 && word(j.saturating_sub(1)) == "delete" => {
                        if let Some((table, ..)) = table_at(&t, j + 1) {
                            return Write::Rewrite { table, operation: "DELETE" };
                        }
                    }
                    _ => {}
                }
            }
            Write::None
        }
        _ => Write::None,
    }
}

/// Statements that would replace or alter a benchmark table's definition in the session.
pub fn alters_definition(sql: &str) -> Option<&'static str> {
    let t = tokens(sql);
    let first = t.first().map(|x| x.0.as_str()).unwrap_or("");
    if !matches!(first, "drop" | "alter" | "create") {
        return None;
    }
    let temp = t.iter().take(5).any(|x| x.0 == "temp" || x.0 == "temporary");
    if first == "create" && temp {
        return None;
    }
    // The object's name follows TABLE or VIEW (after IF [NOT] EXISTS).
    let k = t.iter().position(|x| x.0 == "table" || x.0 == "view")?;
    let mut j = k + 1;
    while matches!(t.get(j).map(|x| x.0.as_str()), Some("if" | "not" | "exists")) {
        j += 1;
    }
    table_at(&t, j).map(|(table, ..)| table)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_where_clause_that_alone_picks_the_rows_narrows_a_rewrite() {
        let conn = duckdb::Connection::open_in_memory().unwrap();
        let defs = crate::store::table::definitions(&conn).unwrap();
        let metrics = defs.iter().find(|d| d.name == "metrics").unwrap();
        let picks = |sql: &str| narrow(sql, metrics);
        let some = |alias: &str, cond: &str| Some((alias.to_string(), cond.to_string()));
        assert_eq!(
            picks("UPDATE metrics SET pgd8 = 0.5 WHERE arch < 100;"),
            some("metrics", "arch < 100")
        );
        assert_eq!(
            picks("update main.metrics as m set pgd8 = pgd8 + 1, clean = 0 where m.dataset = 'x' returning *"),
            some("m", "m.dataset = 'x'")
        );
        assert_eq!(
            picks("DELETE FROM metrics m WHERE arch IN (SELECT arch FROM runs)"),
            some("m", "arch IN (SELECT arch FROM runs)")
        );
        for sql in [
            "UPDATE metrics SET pgd8 = 1",
            "DELETE FROM metrics",
            "UPDATE metrics SET run_id = 'x' WHERE arch = 1",
            "UPDATE metrics SET pgd8 = r.x FROM runs r WHERE metrics.run_id = r.run_id",
            "DELETE FROM metrics USING runs WHERE metrics.run_id = runs.run_id",
            "DELETE FROM metrics WHERE pgd8 < (SELECT avg(pgd8) FROM metrics)",
            "DELETE FROM metrics WHERE random() < 0.5",
            "INSERT INTO metrics SELECT * FROM metrics",
        ] {
            assert_eq!(picks(sql), None, "{sql}");
        }
    }

    #[test]
    fn statements_are_classified_by_what_they_change() {
        let w = classify("INSERT INTO metrics FROM train(1)");
        assert_eq!(w, Write::Insert { table: "metrics", on_key: OnKey::Refuse, span: (12, 19) });
        assert!(matches!(
            classify("insert or replace into \"scores\" values (1)"),
            Write::Insert { table: "scores", on_key: OnKey::Replace, .. }
        ));
        assert!(matches!(
            classify("INSERT OR IGNORE INTO main.runs SELECT 1"),
            Write::Insert { table: "runs", on_key: OnKey::Ignore, span: (22, 31) }
        ));
        // Statements that rewrite a table's files, and the table and operation each names.
        let rewrites = [
            ("INSERT INTO metrics SELECT * FROM metrics", "metrics", "INSERT"),
            ("insert into runs values (1) on conflict do nothing", "runs", "INSERT"),
            ("UPDATE metrics SET pgd8 = 1", "metrics", "UPDATE"),
            ("delete from curves where 'metrics' = ''", "curves", "DELETE"),
            ("WITH x AS (SELECT 1) DELETE FROM runs", "runs", "DELETE"),
            ("COPY scores FROM 'x.csv'", "scores", "INSERT"),
        ];
        for (sql, table, operation) in rewrites {
            assert_eq!(classify(sql), Write::Rewrite { table, operation }, "{sql}");
        }
        for sql in [
            "SELECT * FROM metrics",
            "INSERT INTO mine SELECT * FROM metrics",
            "COPY metrics TO 'x.csv'",
        ] {
            assert_eq!(classify(sql), Write::None, "{sql}");
        }
        assert_eq!(alters_definition("DROP VIEW metrics"), Some("metrics"));
        assert_eq!(alters_definition("create or replace view runs as select 1"), Some("runs"));
        assert_eq!(alters_definition("CREATE TEMP TABLE runs AS SELECT 1"), None);
        assert_eq!(alters_definition("CREATE TABLE mine AS SELECT * FROM runs"), None);
    }
}
