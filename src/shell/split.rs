//! Splits SQL text into statements and dot commands, keeping the line each starts on, and tells
//! the REPL whether what was typed so far is complete. Aware of DuckDB's quoting: '...', "...",
//! $tag$...$tag$, -- and /* */ comments.

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    Sql { text: String, line: usize },
    Dot { text: String, line: usize },
}

/// Scanner state at the end of `text`: whether a statement is open and whether a quote or
/// comment is still open.
struct Scan {
    items: Vec<Item>,
    pending: Option<(String, usize)>,
    open_quote: bool,
}

fn scan(text: &str) -> Scan {
    let bytes: Vec<char> = text.chars().collect();
    let mut items = Vec::new();
    let mut i = 0;
    let mut line = 1;
    let mut cur = String::new();
    let mut start_line = 1;
    let mut open_quote = false;
    // Whether the current statement has more than whitespace and comments yet.
    let mut started = false;
    while i < bytes.len() {
        let c = bytes[i];
        // At the start of a statement, a line beginning with '.' is a dot command.
        if c == '.' && !started {
            let end =
                bytes[i..].iter().position(|&x| x == '\n').map(|p| i + p).unwrap_or(bytes.len());
            let cmd: String = bytes[i..end].iter().collect();
            items.push(Item::Dot { text: cmd.trim().to_string(), line });
            cur.clear();
            i = end;
            continue;
        }
        let comment = (c == '-' && bytes.get(i + 1) == Some(&'-'))
            || (c == '/' && bytes.get(i + 1) == Some(&'*'));
        if !started && !c.is_whitespace() && !comment && c != ';' {
            started = true;
            start_line = line;
        }
        match c {
            '\'' | '"' => {
                let q = c;
                cur.push(c);
                i += 1;
                open_quote = true;
                while i < bytes.len() {
                    let d = bytes[i];
                    cur.push(d);
                    i += 1;
                    if d == '\n' {
                        line += 1;
                    }
                    if d == q {
                        if i < bytes.len() && bytes[i] == q {
                            cur.push(q);
                            i += 1;
                            continue;
                        }
                        open_quote = false;
                        break;
                    }
                }
                continue;
            }
            '-' if bytes.get(i + 1) == Some(&'-') => {
                while i < bytes.len() && bytes[i] != '\n' {
                    cur.push(bytes[i]);
                    i += 1;
                }
                continue;
            }
            '/' if bytes.get(i + 1) == Some(&'*') => {
                open_quote = true;
                cur.push_str("/*");
                i += 2;
                while i < bytes.len() {
                    if bytes[i] == '\n' {
                        line += 1;
                    }
                    if bytes[i] == '*' && bytes.get(i + 1) == Some(&'/') {
                        cur.push_str("*/");
                        i += 2;
                        open_quote = false;
                        break;
                    }
                    cur.push(bytes[i]);
                    i += 1;
                }
                continue;
            }
            '$' => {
                // $tag$ ... $tag$ (tag may be empty)
                let rest: String = bytes[i + 1..].iter().take(64).collect();
                if let Some(end) = rest.find('$') {
                    let tag = &rest[..end];
                    if tag.chars().all(|x| x.is_alphanumeric() || x == '_') {
                        let delim = format!("${tag}$");
                        let body_start = i + delim.chars().count();
                        let body: String = bytes[body_start..].iter().collect();
                        cur.push_str(&delim);
                        open_quote = true;
                        let consumed = match body.find(&delim) {
                            Some(p) => {
                                open_quote = false;
                                body[..p + delim.len()].chars().count()
                            }
                            None => body.chars().count(),
                        };
                        let chunk: String =
                            bytes[body_start..body_start + consumed].iter().collect();
                        line += chunk.matches('\n').count();
                        cur.push_str(&chunk);
                        i = body_start + consumed;
                        continue;
                    }
                }
                cur.push(c);
            }
            ';' => {
                cur.push(';');
                if started {
                    items.push(Item::Sql { text: cur.trim().to_string(), line: start_line });
                }
                cur.clear();
                started = false;
            }
            '\n' => {
                line += 1;
                cur.push(c);
            }
            _ => cur.push(c),
        }
        i += 1;
    }
    let pending = started.then(|| (cur.trim().to_string(), start_line));
    Scan { items, pending, open_quote }
}

/// All items of a script; a final statement without ';' counts as complete.
pub fn split(text: &str) -> Vec<Item> {
    let s = scan(text);
    let mut items = s.items;
    if let Some((text, line)) = s.pending {
        items.push(Item::Sql { text, line });
    }
    items
}

/// Whether the REPL may run what was typed: every statement ended by ';', or a dot command.
pub fn is_complete(text: &str) -> bool {
    let s = scan(text);
    s.pending.is_none() && !s.open_quote
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sql(text: &str, line: usize) -> Item {
        Item::Sql { text: text.into(), line }
    }

    #[test]
    fn splits_on_semicolons_outside_quotes_and_comments() {
        let items =
            split("SELECT ';';\n-- a; comment\nSELECT \"a;b\" /* ; */ FROM t;\nSELECT $$x;y$$");
        assert_eq!(
            items,
            vec![
                sql("SELECT ';';", 1),
                sql("-- a; comment\nSELECT \"a;b\" /* ; */ FROM t;", 3),
                sql("SELECT $$x;y$$", 4)
            ]
        );
    }

    #[test]
    fn statement_line_is_where_its_text_starts() {
        let items = split("\n\nSELECT 1;\n\n  SELECT\n2;");
        assert_eq!(items, vec![sql("SELECT 1;", 3), sql("SELECT\n2;", 5)]);
    }

    #[test]
    fn dot_commands_at_statement_start() {
        let items = split(".mode csv\nSELECT 1.5;\n.timer on\n");
        assert_eq!(
            items,
            vec![
                Item::Dot { text: ".mode csv".into(), line: 1 },
                sql("SELECT 1.5;", 2),
                Item::Dot { text: ".timer on".into(), line: 3 }
            ]
        );
    }

    #[test]
    fn completeness() {
        assert!(!is_complete("SELECT 1"));
        assert!(!is_complete("SELECT ';"));
        assert!(!is_complete("SELECT 1 /* ;"));
        assert!(is_complete("SELECT 1;"));
        assert!(is_complete("SELECT 1; -- trailing"));
        assert!(is_complete(".tables"));
        assert!(is_complete(""));
    }
}
