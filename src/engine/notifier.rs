//! Wake-ups for waiters: one pub/sub connection per gateway process.
//!
//! A single task owns the connection and a table of channels with their local listeners. Waiters
//! ask it to subscribe (it answers once Redis confirmed, so a hand-off published after that is not
//! missed) and drop their [`Subscription`] when done; the last one out unsubscribes. Serialising
//! every SUBSCRIBE/UNSUBSCRIBE through that task keeps them in order on the wire.
//!
//! When the connection drops, the task reconnects, subscribes again to every channel in use and
//! wakes every waiter, which then looks at its lock afresh.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::StreamExt;
use redis::aio::{PubSubSink, PubSubStream};
use tokio::sync::{broadcast, mpsc, oneshot, watch};

/// Payload that wakes every waiter of a channel, not only the one a hand-off names.
pub const WAKE_ALL: &str = "*";

/// How often a broken pub/sub connection is retried while waiters need it.
const RECONNECT_EVERY: Duration = Duration::from_millis(250);

#[derive(Debug, thiserror::Error)]
pub enum NotifierError {
    #[error("pub/sub connection unavailable: {0}")]
    Unavailable(String),
}

/// The state of the pub/sub connection. `Up(n)`: the n-th connection, subscribed to every
/// channel in use; a message published while it is up reaches this process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Link {
    Down,
    Up(u64),
}

type SubscribeReply = oneshot::Sender<Result<broadcast::Receiver<Arc<str>>, NotifierError>>;

enum Command {
    Subscribe {
        channel: String,
        reply: SubscribeReply,
    },
    Unsubscribe {
        channel: String,
    },
}

/// Handle to the process's pub/sub task. Cheap to clone; the task starts on first use, so
/// building one needs neither a runtime nor a reachable Redis (e.g. `lockgate openapi`).
#[derive(Clone)]
pub struct Notifier {
    commands: mpsc::UnboundedSender<Command>,
    unstarted: Arc<Mutex<Option<NotifierTask>>>,
    link: watch::Receiver<Link>,
}

/// A waiter's interest in one channel. Dropping it may unsubscribe.
pub struct Subscription {
    channel: String,
    receiver: broadcast::Receiver<Arc<str>>,
    commands: mpsc::UnboundedSender<Command>,
}

/// Why a waiter woke (see `lua/_prelude.lua` for the messages' shape).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Wake {
    /// The lock was handed to (or claimed by) this token.
    Mine,
    /// It was handed to or claimed by another ticket; that lease runs for `lease_ms` from now.
    /// `unclaimed`: a hand-off its gateway has yet to claim; waiters give a sign of life
    /// halfway through it (see `hand_off` in `lua/_prelude.lua`).
    Other { lease_ms: u64, unclaimed: bool },
    /// Everyone should look: the resource was cleared, or messages may have been missed.
    All,
}

impl Subscription {
    /// The next wake-up for the waiter `token`. Never resolves once the notifier is gone;
    /// callers always race it against a timer.
    pub async fn next_wake(&mut self, token: &str) -> Wake {
        loop {
            let payload = match self.receiver.recv().await {
                Ok(payload) => payload,
                // Missed messages: one of them may have been ours.
                Err(broadcast::error::RecvError::Lagged(_)) => return Wake::All,
                Err(broadcast::error::RecvError::Closed) => std::future::pending().await,
            };
            if &*payload == WAKE_ALL {
                return Wake::All;
            }
            let mut parts = payload.split(' ');
            if parts.next() == Some(token) {
                return Wake::Mine;
            }
            if let Some(Ok(lease_ms)) = parts.next().map(str::parse) {
                let unclaimed = parts.next() == Some("u");
                return Wake::Other {
                    lease_ms,
                    unclaimed,
                };
            }
        }
    }
}

impl Subscription {
    /// The next message's payload; [`WAKE_ALL`] also when messages were missed (the connection
    /// came back, or this listener fell behind). `None` once the notifier is gone.
    pub async fn next_message(&mut self) -> Option<Arc<str>> {
        match self.receiver.recv().await {
            Ok(payload) => Some(payload),
            Err(broadcast::error::RecvError::Lagged(_)) => Some(Arc::from(WAKE_ALL)),
            Err(broadcast::error::RecvError::Closed) => None,
        }
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        let _ = self.commands.send(Command::Unsubscribe {
            channel: std::mem::take(&mut self.channel),
        });
    }
}

impl Notifier {
    /// `timeout` bounds each connection attempt and each SUBSCRIBE.
    pub fn new(client: redis::Client, timeout: Duration) -> Self {
        let (commands, inbox) = mpsc::unbounded_channel();
        let (link_tx, link) = watch::channel(Link::Down);
        let task = NotifierTask {
            client,
            timeout,
            inbox,
            channels: HashMap::new(),
            sink: None,
            link: link_tx,
            connections: 0,
        };
        Self {
            commands,
            unstarted: Arc::new(Mutex::new(Some(task))),
            link,
        }
    }

    /// Whether messages reach this process now, and on which connection.
    pub fn link(&self) -> Link {
        *self.link.borrow()
    }

    /// Subscribes to `channel`; returns once Redis confirmed the subscription.
    pub async fn subscribe(&self, channel: &str) -> Result<Subscription, NotifierError> {
        self.start();
        let stopped = || NotifierError::Unavailable("notifier stopped".into());
        let (reply, answer) = oneshot::channel();
        self.commands
            .send(Command::Subscribe {
                channel: channel.to_owned(),
                reply,
            })
            .map_err(|_| stopped())?;
        let receiver = answer.await.map_err(|_| stopped())??;
        Ok(Subscription {
            channel: channel.to_owned(),
            receiver,
            commands: self.commands.clone(),
        })
    }

    fn start(&self) {
        let task = match self.unstarted.lock() {
            Ok(mut slot) => slot.take(),
            Err(poisoned) => poisoned.into_inner().take(),
        };
        if let Some(task) = task {
            tokio::spawn(task.run());
        }
    }
}

struct Channel {
    listeners: usize,
    sender: broadcast::Sender<Arc<str>>,
}

struct NotifierTask {
    client: redis::Client,
    timeout: Duration,
    inbox: mpsc::UnboundedReceiver<Command>,
    channels: HashMap<String, Channel>,
    sink: Option<PubSubSink>,
    link: watch::Sender<Link>,
    /// Connections made so far, to number them in [`Link::Up`].
    connections: u64,
}

impl NotifierTask {
    async fn run(mut self) {
        let mut stream: Option<PubSubStream> = None;
        loop {
            let broken = stream.is_none() && !self.channels.is_empty();
            tokio::select! {
                command = self.inbox.recv() => match command {
                    None => return,
                    Some(command) => {
                        if stream.is_none() {
                            stream = self.connect().await;
                        }
                        self.handle(command).await;
                    }
                },
                message = next_message(&mut stream) => match message {
                    Some(msg) => self.dispatch(&msg),
                    None => {
                        tracing::warn!("pub/sub connection lost; reconnecting");
                        self.link.send_replace(Link::Down);
                        stream = None;
                        self.sink = None;
                    }
                },
                _ = tokio::time::sleep(RECONNECT_EVERY), if broken => {
                    stream = self.connect().await;
                }
            }
        }
    }

    /// Opens the connection and restores every subscription in use; wakes all waiters, since
    /// hand-offs may have been published while it was down.
    async fn connect(&mut self) -> Option<PubSubStream> {
        let attempt = async {
            let (mut sink, stream) = self.client.get_async_pubsub().await?.split();
            let channels: Vec<&String> = self.channels.keys().collect();
            if !channels.is_empty() {
                sink.subscribe(channels).await?;
            }
            Ok::<_, redis::RedisError>((sink, stream))
        };
        match tokio::time::timeout(self.timeout, attempt).await {
            Ok(Ok((sink, stream))) => {
                self.sink = Some(sink);
                self.connections += 1;
                self.link.send_replace(Link::Up(self.connections));
                for channel in self.channels.values() {
                    let _ = channel.sender.send(Arc::from(WAKE_ALL));
                }
                Some(stream)
            }
            Ok(Err(err)) => {
                tracing::debug!(error = %err, "pub/sub connect failed");
                None
            }
            Err(_) => {
                tracing::debug!("pub/sub connect timed out");
                None
            }
        }
    }

    async fn handle(&mut self, command: Command) {
        match command {
            Command::Subscribe { channel, reply } => {
                let _ = reply.send(self.subscribe(channel).await);
            }
            Command::Unsubscribe { channel } => {
                let last = match self.channels.get_mut(&channel) {
                    Some(entry) => {
                        entry.listeners -= 1;
                        entry.listeners == 0
                    }
                    None => false,
                };
                if last {
                    self.channels.remove(&channel);
                    if let Some(sink) = self.sink.as_mut() {
                        let _ =
                            tokio::time::timeout(self.timeout, sink.unsubscribe(&channel)).await;
                    }
                }
            }
        }
    }

    async fn subscribe(
        &mut self,
        channel: String,
    ) -> Result<broadcast::Receiver<Arc<str>>, NotifierError> {
        if let Some(entry) = self.channels.get_mut(&channel) {
            entry.listeners += 1;
            return Ok(entry.sender.subscribe());
        }
        let sink = self
            .sink
            .as_mut()
            .ok_or_else(|| NotifierError::Unavailable("cannot reach Redis".into()))?;
        match tokio::time::timeout(self.timeout, sink.subscribe(&channel)).await {
            Ok(Ok(())) => {}
            Ok(Err(err)) => return Err(NotifierError::Unavailable(err.to_string())),
            Err(_) => return Err(NotifierError::Unavailable("SUBSCRIBE timed out".into())),
        }
        let (sender, receiver) = broadcast::channel(64);
        self.channels.insert(
            channel,
            Channel {
                listeners: 1,
                sender,
            },
        );
        Ok(receiver)
    }

    fn dispatch(&self, msg: &redis::Msg) {
        let Some(channel) = self.channels.get(msg.get_channel_name()) else {
            return;
        };
        let payload: String = msg.get_payload().unwrap_or_default();
        let _ = channel.sender.send(Arc::from(payload));
    }
}

async fn next_message(stream: &mut Option<PubSubStream>) -> Option<redis::Msg> {
    match stream {
        Some(stream) => stream.next().await,
        None => std::future::pending().await,
    }
}
