//! `loadgen reconcile`'s table: per endpoint, the client's count, what it abandoned in flight,
//! and the server's counter, with whether they agree (client + abandoned = server).

use std::io::{self, Write};

use crate::reconcile::{Row, Server};

/// The table, then one line saying whether every counted endpoint agrees.
pub fn text(w: &mut dyn Write, rows: &[Row]) -> io::Result<()> {
    let width = rows.iter().map(|r| r.name.len()).max().unwrap_or(0).max(8);
    writeln!(
        w,
        "{:<width$} {:>8} {:>10} {:>8}  counter",
        "Endpoint", "client", "abandoned", "server"
    )?;
    for r in rows {
        let (server, note) = match &r.server {
            Server::Counted { counter, value } => {
                let sign = if r.agrees() == Some(true) {
                    "="
                } else {
                    "MISMATCH"
                };
                (value.to_string(), format!("{sign} {counter}"))
            }
            Server::Missing { counter } => ("?".into(), format!("MISSING {counter}")),
            Server::Uncounted => ("-".into(), "the server counts these nowhere".into()),
            Server::Unknown => ("-".into(), "named in the journey: route unknown".into()),
        };
        writeln!(
            w,
            "{:<width$} {:>8} {:>10} {:>8}  {note}",
            r.name, r.client, r.abandoned, server
        )?;
    }
    let counted = rows.iter().filter(|r| r.agrees().is_some()).count();
    let off = rows.iter().filter(|r| r.agrees() == Some(false)).count();
    if off == 0 {
        writeln!(
            w,
            "All {counted} counted endpoints agree: client + abandoned = server."
        )
    } else {
        writeln!(
            w,
            "{off} of {counted} counted endpoints disagree: client + abandoned != server."
        )
    }
}
