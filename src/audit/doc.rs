//! A report as a terminal text or Markdown: the two differ only in headings and table syntax,
//! so every audit report is written once against this.

use std::fmt::Write;

/// A report being written.
pub(crate) struct Doc {
    out: String,
    md: bool,
}

impl Doc {
    /// An empty report; Markdown when `md`.
    pub(crate) fn new(md: bool) -> Doc {
        Doc { out: String::new(), md }
    }

    /// The report's title.
    pub(crate) fn title(&mut self, title: &str) {
        let _ = if self.md {
            writeln!(self.out, "# {title}")
        } else {
            writeln!(self.out, "{title}")
        };
    }

    /// A section heading.
    pub(crate) fn heading(&mut self, title: &str) {
        let _ = if self.md {
            writeln!(self.out, "\n## {title}\n")
        } else {
            writeln!(self.out, "\n{title}\n{}", "-".repeat(title.chars().count()))
        };
    }

    /// A line of text.
    pub(crate) fn line(&mut self, text: &str) {
        let _ = writeln!(self.out, "{text}");
    }

    /// A table; text cells are cut at 70 characters.
    pub(crate) fn table(&mut self, header: &[&str], rows: Vec<Vec<String>>) {
        let out = &mut self.out;
        if self.md {
            let _ = writeln!(out, "| {} |", header.join(" | "));
            let _ = writeln!(out, "|{}", header.iter().map(|_| "---|").collect::<String>());
            for row in rows {
                let cells: Vec<String> = row.iter().map(|c| c.replace('|', "\\|")).collect();
                let _ = writeln!(out, "| {} |", cells.join(" | "));
            }
            return;
        }
        let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
        for row in &rows {
            for (w, c) in widths.iter_mut().zip(row) {
                *w = (*w).max(c.chars().count()).min(70);
            }
        }
        let line = |cells: Vec<String>| {
            cells
                .iter()
                .zip(&widths)
                .map(|(c, w)| {
                    let c: String = c.chars().take(*w).collect();
                    format!("{c:<w$}")
                })
                .collect::<Vec<_>>()
                .join("  ")
                .trim_end()
                .to_owned()
        };
        let _ = writeln!(out, "{}", line(header.iter().map(|h| h.to_string()).collect()));
        for row in rows {
            let _ = writeln!(out, "{}", line(row));
        }
    }

    /// The text written.
    pub(crate) fn finish(self) -> String {
        self.out
    }
}

impl Doc {
    /// A history's "Columns" section: which column fed which field, and the ignored ones.
    pub(crate) fn history_columns(&mut self, columns: &[crate::history::columns::ColumnUse], ignored: &[String]) {
        self.heading("Columns");
        let rows = columns.iter().map(|c| {
            let how = if c.mapped { "--map" } else { "header name" };
            vec![c.field.to_owned(), c.column.clone(), c.rows.to_string(), how.to_owned()]
        });
        self.table(&["field", "column", "rows", "chosen by"], rows.collect());
        let ignored = if ignored.is_empty() {
            "(none)".to_owned()
        } else {
            ignored.join(", ")
        };
        self.line(&format!("\nIgnored columns: {ignored}"));
    }
}

/// A share as a percentage with one decimal.
pub(crate) fn pct(x: f64) -> String {
    format!("{:.1}%", x * 100.0)
}
