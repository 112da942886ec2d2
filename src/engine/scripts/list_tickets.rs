//! `lua/list_tickets.lua`: every ticket of a resource, holder first, then the queue, then
//! released ones newest first.

use redis::{Cmd, Value};

use super::{reason, unexpected, LockScript, Pairs};
use crate::engine::{TicketRecord, TicketStatus};

pub struct ListTickets;

impl LockScript for ListTickets {
    const NAME: &'static str = "list_tickets";
    type Reply = Vec<TicketRecord>;

    fn args(&self, _: &mut Cmd) {}

    fn reply(value: Value) -> Result<Vec<TicketRecord>, String> {
        Pairs::each(value)?.iter().map(record).collect()
    }
}

/// The `record` a ticket script added to its reply, if any.
pub fn attached(pairs: &Pairs) -> Result<Option<TicketRecord>, String> {
    match pairs.get("record") {
        Some(value) => Ok(Some(record(&Pairs::new(value.clone())?)?)),
        None => Ok(None),
    }
}

/// One ticket's record, as every ticket script writes it (`ticket_record()` in the prelude).
pub fn record(pairs: &Pairs) -> Result<TicketRecord, String> {
    let optional = |name: &str| pairs.has(name).then(|| pairs.int(name)).transpose();
    let status = match pairs.status()?.as_str() {
        "acquired" => TicketStatus::Acquired {
            claimed: pairs.int("claimed")? == 1,
        },
        "queued" => TicketStatus::Queued {
            position: pairs.count("position")?,
        },
        "released" => TicketStatus::Released {
            reason: reason(pairs)?,
            released_at_ms: pairs.int("updated_ms")?,
        },
        other => return Err(unexpected(other)),
    };
    Ok(TicketRecord {
        ticket: pairs.text("ticket")?,
        status,
        label: pairs.text("label")?,
        lease_ms: pairs.count("lease_ms")?,
        created_at_ms: pairs.int("created_ms")?,
        updated_at_ms: pairs.int("updated_ms")?,
        fencing_token: optional("fence")?
            .map(u64::try_from)
            .transpose()
            .map_err(|_| "fence: negative".to_owned())?,
        acquired_at_ms: optional("acquired_ms")?,
        expires_at_ms: optional("expires_ms")?,
    })
}
