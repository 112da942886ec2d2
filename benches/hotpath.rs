//! The hot path, side by side with its floors: `cargo bench --bench hotpath`.
//!
//! Prints figures, never asserts them. In one run, on one private Redis:
//! - the raw Redis lock cycle (per worker one connection: EVALSHA `SET NX PX` + `INCR` fence,
//!   then EVALSHA compare-and-delete, each worker on its own name);
//! - the same two EVALSHA over HTTP through webdis (if `webdis` is on PATH): the floor of "HTTP
//!   in front of Redis";
//! - lockgate's lock+unlock cycle in every served dialect, with one and with two gateway
//!   processes (the release binary, started as its own process): maas, lockable, synchronize,
//!   sfp (queue a ticket, acquired at once; release it) and courses (lock a gadget of one shared
//!   course, each worker its own gadget and user session; release it by id);
//!
//! at 1, 16 and 64 workers (each a keep-alive HTTP/1.1 connection driven by hyper), with the
//! gateways' CPU time per request read from `/proc`. Then cross-gateway hand-off latency, the
//! gateway's resident memory per parked waiter and per idle connection (10,000 of each), and
//! Redis bytes per held lock. Needs `redis-server` on PATH; the machine's numbers are only
//! comparable within one run.

use std::collections::BTreeMap;
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine as _;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper::{Method, Request};
use hyper_util::rt::TokioIo;
use lockgate::embedded::{Listen, RedisServer};
use tokio::net::TcpStream;

const GATEWAY: &str = env!("CARGO_BIN_EXE_lockgate");
const ADMIN_TOKEN: &str = "bench-admin-token";
const SFP_SECRET: &str = "bench-sfp-secret";
/// The course every courses worker locks a gadget of.
const COURSE: &str = "benchcourse";
const CONCURRENCY: [usize; 3] = [1, 16, 64];
const WARMUP: Duration = Duration::from_millis(500);
const MEASURE: Duration = Duration::from_secs(3);
const HANDOFFS: usize = 200;
/// Parked waiters and idle connections measured; `BENCH_PARKED` overrides.
const PARKED_DEFAULT: usize = 10_000;
const HELD_LOCKS: usize = 10_000;

/// The raw lock: take the name if free, then bump its fence.
const RAW_LOCK: &str = "if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then \
                        return redis.call('INCR', KEYS[2]) end return 0";
/// The raw unlock: delete the name if the caller holds it.
const RAW_UNLOCK: &str = "if redis.call('GET', KEYS[1]) == ARGV[1] then \
                          return redis.call('DEL', KEYS[1]) end return 0";

#[tokio::main]
async fn main() {
    raise_fd_limit();
    let redis_port = free_port();
    let redis = RedisServer::start("redis-server", Listen::Port(redis_port))
        .await
        .expect("redis-server on PATH");
    let redis_url = redis.url().to_owned();
    let scripts = RawScripts::load(&redis_url).await;
    let webdis = Webdis::start(redis_port);
    let pods = [
        Gateway::start(&redis_url, &[]).await,
        Gateway::start(&redis_url, &[]).await,
    ];
    // The same gateway with one worker thread (`server.worker_threads`), for comparison.
    let single_thread =
        Gateway::start(&redis_url, &[("LOCKGATE_SERVER__WORKER_THREADS", "1")]).await;
    // `BENCH_BASELINE_BINARY`: an earlier build, measured in the same run (maas, one pod), so a
    // change's effect is read beside its baseline rather than across noisy runs.
    let baseline = match std::env::var("BENCH_BASELINE_BINARY") {
        Ok(binary) if !binary.is_empty() => {
            let env = [("LOCKGATE_REDIS__KEY_PREFIX", "baseline")];
            Some(Gateway::start_binary(&binary, &redis_url, &env).await)
        }
        _ => None,
    };
    let auth = Arc::new(Auth {
        lockable: format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD
                .encode(format!("{}:", lockable_account(&pods[0]).await))
        ),
        sync: format!("Bearer {}", synchronize_key(&pods[0]).await),
        sfp: format!("Bearer {}", sfp_token()),
        courses: course_sessions(&pods[0]).await,
    });

    println!("lockgate hot-path benchmark: {}", machine());
    println!(
        "each figure: {} s after {} ms warm-up; a cycle is lock + unlock (2 requests)",
        MEASURE.as_secs(),
        WARMUP.as_millis()
    );
    println!();

    let mut targets: Vec<(String, Target)> = vec![(
        "raw Redis".into(),
        Target::Raw {
            url: redis_url.clone(),
            scripts: scripts.clone(),
        },
    )];
    if let Some(webdis) = &webdis {
        targets.push((
            "webdis".into(),
            Target::Webdis {
                addr: webdis.addr.clone(),
                scripts: scripts.clone(),
            },
        ));
    }
    for (pods_used, label) in [(1, "1 pod"), (2, "2 pods")] {
        let addrs: Vec<String> = pods[..pods_used].iter().map(|p| p.addr.clone()).collect();
        let pids: Vec<u32> = pods[..pods_used].iter().map(|p| p.pid()).collect();
        for dialect in [
            Dialect::Maas,
            Dialect::Lockable,
            Dialect::Synchronize,
            Dialect::Sfp,
            Dialect::Courses,
        ] {
            targets.push((
                format!("{} {label}", dialect.name()),
                Target::Gateway {
                    addrs: addrs.clone(),
                    pids: pids.clone(),
                    dialect,
                    auth: auth.clone(),
                },
            ));
        }
    }

    if let Some(baseline) = &baseline {
        targets.push((
            "maas 1 pod, baseline binary".into(),
            Target::Gateway {
                addrs: vec![baseline.addr.clone()],
                pids: vec![baseline.pid()],
                dialect: Dialect::Maas,
                auth: auth.clone(),
            },
        ));
    }
    targets.push((
        "maas 1 pod, 1 thread".into(),
        Target::Gateway {
            addrs: vec![single_thread.addr.clone()],
            pids: vec![single_thread.pid()],
            dialect: Dialect::Maas,
            auth: auth.clone(),
        },
    ));

    let sections =
        std::env::var("BENCH_SECTIONS").unwrap_or_else(|_| "throughput,handoff,memory".into());
    if sections.contains("throughput") {
        let redis_pid: u32 =
            info_field(&mut redis_conn(&redis_url).await, "server", "process_id").await;
        throughput(&targets, webdis.is_some(), redis_pid).await;
    }
    if sections.contains("handoff") {
        handoff(&pods).await;
    }
    drop(pods);
    drop(single_thread);
    if sections.contains("memory") {
        memory(&redis_url).await;
    }
}

/// Cycles per second of every target at every concurrency, as one table.
async fn throughput(targets: &[(String, Target)], with_webdis: bool, redis_pid: u32) {
    let mut results: BTreeMap<(usize, usize), Figure> = BTreeMap::new();
    for (index, (_, target)) in targets.iter().enumerate() {
        for &c in &CONCURRENCY {
            let figure = measure(target, c, redis_pid).await;
            results.insert((index, c), figure);
        }
    }

    println!(
        "| target | c | cycles/s | × raw Redis | × webdis | lock p50 ms | lock p99 ms | gateway CPU µs/request | Redis CPU µs/cycle |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    for (index, (name, _)) in targets.iter().enumerate() {
        for &c in &CONCURRENCY {
            let figure = &results[&(index, c)];
            let raw = results[&(0, c)].cycles_per_second;
            let web = with_webdis.then(|| results[&(1, c)].cycles_per_second);
            println!(
                "| {name} | {c} | {:.0} | {:.2} | {} | {:.3} | {:.3} | {} | {:.1} |",
                figure.cycles_per_second,
                figure.cycles_per_second / raw,
                web.map_or("–".into(), |w| format!(
                    "{:.2}",
                    figure.cycles_per_second / w
                )),
                figure.lock_p50_ms,
                figure.lock_p99_ms,
                figure
                    .cpu_us_per_request
                    .map_or("–".into(), |cpu| format!("{cpu:.1}")),
                figure.redis_cpu_us_per_cycle,
            );
        }
    }
    if !with_webdis {
        println!("(webdis not on PATH: `apt-get install webdis` for its column)");
    }
    println!();
}

/// One measured configuration.
#[derive(Clone)]
enum Target {
    Raw {
        url: String,
        scripts: RawScripts,
    },
    Webdis {
        addr: String,
        scripts: RawScripts,
    },
    Gateway {
        addrs: Vec<String>,
        pids: Vec<u32>,
        dialect: Dialect,
        auth: Arc<Auth>,
    },
}

/// The credentials of the dialects that need them.
struct Auth {
    /// `Authorization` values.
    lockable: String,
    sync: String,
    sfp: String,
    /// One course session (`SID`) per worker.
    courses: Vec<String>,
}

#[derive(Clone, Copy)]
enum Dialect {
    Maas,
    Lockable,
    Synchronize,
    Sfp,
    Courses,
}

impl Dialect {
    fn name(self) -> &'static str {
        match self {
            Dialect::Maas => "maas",
            Dialect::Lockable => "lockable",
            Dialect::Synchronize => "synchronize",
            Dialect::Sfp => "sfp",
            Dialect::Courses => "courses",
        }
    }
}

struct Figure {
    cycles_per_second: f64,
    lock_p50_ms: f64,
    lock_p99_ms: f64,
    cpu_us_per_request: Option<f64>,
    /// Redis's own CPU time per lock + unlock cycle: where the ceiling is.
    redis_cpu_us_per_cycle: f64,
}

/// Runs `c` workers against `target` for the warm-up, then for the measured time.
async fn measure(target: &Target, c: usize, redis_pid: u32) -> Figure {
    let cycles = Arc::new(AtomicU64::new(0));
    let measuring = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let start = Instant::now();
    let stop_at = start + WARMUP + MEASURE;
    let mut workers = Vec::new();
    for worker in 0..c {
        let target = target.clone();
        let cycles = cycles.clone();
        let measuring = measuring.clone();
        workers.push(tokio::spawn(async move {
            let mut cycle = Cycle::open(&target, worker).await;
            let mut lock_times = Vec::new();
            while Instant::now() < stop_at {
                let lock_time = cycle.run().await;
                if measuring.load(Ordering::Relaxed) {
                    cycles.fetch_add(1, Ordering::Relaxed);
                    lock_times.push(lock_time);
                }
            }
            lock_times
        }));
    }
    tokio::time::sleep_until((start + WARMUP).into()).await;
    let pids = match target {
        Target::Gateway { pids, .. } => pids.clone(),
        _ => Vec::new(),
    };
    let cpu_before: u64 = pids.iter().map(|&p| cpu_ticks(p)).sum();
    let redis_before = cpu_ticks(redis_pid);
    measuring.store(true, Ordering::Relaxed);
    let measured_from = Instant::now();
    let mut lock_times = Vec::new();
    for worker in workers {
        lock_times.extend(worker.await.expect("worker"));
    }
    let elapsed = measured_from.elapsed();
    let cpu_after: u64 = pids.iter().map(|&p| cpu_ticks(p)).sum();
    let redis_after = cpu_ticks(redis_pid);
    let done = cycles.load(Ordering::Relaxed);
    lock_times.sort();
    let at = |q: f64| {
        lock_times
            .get(((lock_times.len().max(1) - 1) as f64 * q) as usize)
            .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
    };
    let cpu_us_per_request = (!pids.is_empty() && done > 0).then(|| {
        (cpu_after - cpu_before) as f64 * 1_000_000.0 / ticks_per_second() / (done * 2) as f64
    });
    let redis_cpu_us_per_cycle =
        (redis_after - redis_before) as f64 * 1_000_000.0 / ticks_per_second() / done.max(1) as f64;
    Figure {
        redis_cpu_us_per_cycle,
        cycles_per_second: done as f64 / elapsed.as_secs_f64(),
        lock_p50_ms: at(0.5),
        lock_p99_ms: at(0.99),
        cpu_us_per_request,
    }
}

/// One worker's connection and name.
enum Cycle {
    Raw {
        conn: redis::aio::MultiplexedConnection,
        scripts: RawScripts,
        lock_key: String,
        fence_key: String,
    },
    Webdis {
        http: Http,
        lock_path: String,
        unlock_path: String,
    },
    Gateway {
        http: Http,
        dialect: Dialect,
        name: String,
        worker: usize,
        auth: Arc<Auth>,
    },
}

impl Cycle {
    async fn open(target: &Target, worker: usize) -> Cycle {
        let owner = format!("owner-{worker}");
        match target {
            Target::Raw { url, scripts } => {
                let client = redis::Client::open(url.as_str()).expect("redis url");
                Cycle::Raw {
                    conn: client
                        .get_multiplexed_async_connection()
                        .await
                        .expect("connect"),
                    scripts: scripts.clone(),
                    lock_key: format!("raw:w{worker}:lock"),
                    fence_key: format!("raw:w{worker}:fence"),
                }
            }
            Target::Webdis { addr, scripts } => Cycle::Webdis {
                http: Http::connect(addr).await,
                lock_path: format!(
                    "/EVALSHA/{}/2/web:w{worker}:lock/web:w{worker}:fence/{owner}/30000",
                    scripts.lock
                ),
                unlock_path: format!("/EVALSHA/{}/1/web:w{worker}:lock/{owner}", scripts.unlock),
            },
            Target::Gateway {
                addrs,
                dialect,
                auth,
                ..
            } => Cycle::Gateway {
                http: Http::connect(&addrs[worker % addrs.len()]).await,
                dialect: *dialect,
                name: format!("bench-{}-w{worker}", dialect.name()),
                worker,
                auth: auth.clone(),
            },
        }
    }

    /// One lock + unlock; returns how long the lock took.
    async fn run(&mut self) -> Duration {
        let started = Instant::now();
        match self {
            Cycle::Raw {
                conn,
                scripts,
                lock_key,
                fence_key,
            } => {
                let fence: i64 = redis::cmd("EVALSHA")
                    .arg(&scripts.lock)
                    .arg(2)
                    .arg(&*lock_key)
                    .arg(&*fence_key)
                    .arg("owner")
                    .arg(30000)
                    .query_async(conn)
                    .await
                    .expect("raw lock");
                assert!(fence > 0, "raw lock refused");
                let took = started.elapsed();
                let deleted: i64 = redis::cmd("EVALSHA")
                    .arg(&scripts.unlock)
                    .arg(1)
                    .arg(&*lock_key)
                    .arg("owner")
                    .query_async(conn)
                    .await
                    .expect("raw unlock");
                assert_eq!(deleted, 1, "raw unlock");
                took
            }
            Cycle::Webdis {
                http,
                lock_path,
                unlock_path,
            } => {
                let (status, body) = http.call(Method::GET, lock_path, &[], None).await;
                assert!(status == 200 && !body.ends_with(b":0}"), "webdis lock");
                let took = started.elapsed();
                let (status, body) = http.call(Method::GET, unlock_path, &[], None).await;
                assert!(status == 200 && body.ends_with(b":1}"), "webdis unlock");
                took
            }
            Cycle::Gateway {
                http,
                dialect,
                name,
                worker,
                auth,
            } => match dialect {
                Dialect::Maas => {
                    let path = format!("/mutex/lock/{name}?timeout=0");
                    let (status, body) = http.call(Method::PUT, &path, &[], None).await;
                    assert_eq!(status, 200, "maas lock");
                    let took = started.elapsed();
                    let id = json_str(&body, "mutex_id").expect("mutex_id");
                    let path = format!("/mutex/lock/{name}?mutex_id={id}");
                    let (status, _) = http.call(Method::DELETE, &path, &[], None).await;
                    assert_eq!(status, 200, "maas unlock");
                    took
                }
                Dialect::Lockable => {
                    let auth = [("authorization", auth.lockable.as_str())];
                    let path = format!("/v1/acquire/{name}");
                    let (status, body) = http.call(Method::GET, &path, &auth, None).await;
                    assert!(
                        status == 200 && contains(&body, b"true"),
                        "lockable acquire"
                    );
                    let took = started.elapsed();
                    let path = format!("/v1/release/{name}");
                    let (status, body) = http.call(Method::GET, &path, &auth, None).await;
                    assert!(
                        status == 200 && contains(&body, b"true"),
                        "lockable release"
                    );
                    took
                }
                Dialect::Synchronize => {
                    let auth = [
                        ("authorization", auth.sync.as_str()),
                        ("content-type", "application/json"),
                    ];
                    let body = format!(r#"{{"lockName":"{name}","requester":"bench"}}"#);
                    let (status, reply) = http
                        .call(Method::POST, "/api/v0/lock", &auth, Some(body))
                        .await;
                    assert!(
                        status == 200 && contains(&reply, b"\"locked\":true"),
                        "sync lock"
                    );
                    let took = started.elapsed();
                    let lease = json_str(&reply, "leaseId").expect("leaseId");
                    let body = format!(r#"{{"lockName":"{name}","leaseId":"{lease}"}}"#);
                    let (status, reply) = http
                        .call(Method::POST, "/api/v0/unlock", &auth, Some(body))
                        .await;
                    assert!(status == 200 && contains(&reply, b"true"), "sync unlock");
                    took
                }
                Dialect::Sfp => {
                    let auth = [
                        ("authorization", auth.sfp.as_str()),
                        ("content-type", "application/json"),
                    ];
                    let body = format!(
                        r#"{{"repository":"bench","resource":"{name}","leaseDurationSeconds":30}}"#
                    );
                    let (status, reply) = http
                        .call(Method::POST, "/sfp/api/locks", &auth, Some(body))
                        .await;
                    assert!(
                        status == 201 && contains(&reply, b"\"status\":\"acquired\""),
                        "sfp queue"
                    );
                    let took = started.elapsed();
                    let ticket = json_str(&reply, "ticketId").expect("ticketId");
                    let path = format!("/sfp/api/locks/bench/{name}/{ticket}");
                    let (status, _) = http.call(Method::DELETE, &path, &auth[..1], None).await;
                    assert_eq!(status, 200, "sfp release");
                    took
                }
                Dialect::Courses => {
                    let sid = [
                        ("sid", auth.courses[*worker % auth.courses.len()].as_str()),
                        ("content-type", "application/json"),
                    ];
                    let body = format!(
                        r#"{{"type":"gadget","subject":{{"courseId":"{COURSE}","gadgetId":"g{worker}"}}}}"#
                    );
                    let (status, reply) = http.call(Method::POST, "/locks", &sid, Some(body)).await;
                    assert_eq!(status, 201, "courses lock");
                    let took = started.elapsed();
                    let id = json_str(&reply, "id").expect("id");
                    let path = format!("/locks/{id}");
                    let (status, _) = http.call(Method::DELETE, &path, &sid[..1], None).await;
                    assert_eq!(status, 200, "courses unlock");
                    took
                }
            },
        }
    }
}

/// A keep-alive HTTP/1.1 connection.
struct Http {
    sender: SendRequest<Full<Bytes>>,
    host: String,
}

impl Http {
    async fn connect(addr: &str) -> Http {
        Self::try_connect(addr).await.expect("connect")
    }

    async fn try_connect(addr: &str) -> Option<Http> {
        let stream = TcpStream::connect(addr).await.ok()?;
        stream.set_nodelay(true).ok()?;
        let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .ok()?;
        tokio::spawn(connection);
        Some(Http {
            sender,
            host: addr.to_owned(),
        })
    }

    fn request(
        &self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<String>,
    ) -> Request<Full<Bytes>> {
        let mut builder = Request::builder()
            .method(method)
            .uri(path)
            .header("host", &self.host);
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        builder
            .body(Full::new(body.map(Bytes::from).unwrap_or_default()))
            .expect("request")
    }

    async fn call(
        &mut self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<String>,
    ) -> (u16, Bytes) {
        let request = self.request(method, path, headers, body);
        self.sender.ready().await.expect("connection ready");
        let response = self.sender.send_request(request).await.expect("response");
        let status = response.status().as_u16();
        let body = response
            .into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes();
        (status, body)
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// The string value of `"field":"..."` in a flat JSON body (enough for these replies).
fn json_str(body: &[u8], field: &str) -> Option<String> {
    let text = std::str::from_utf8(body).ok()?;
    let start = text.find(&format!("\"{field}\":\""))? + field.len() + 4;
    let end = text[start..].find('"')? + start;
    Some(text[start..end].to_owned())
}

#[derive(Clone)]
struct RawScripts {
    lock: String,
    unlock: String,
}

impl RawScripts {
    async fn load(url: &str) -> RawScripts {
        let mut conn = redis_conn(url).await;
        let load = |script: &'static str| {
            let mut cmd = redis::cmd("SCRIPT");
            cmd.arg("LOAD").arg(script);
            cmd
        };
        let lock: String = load(RAW_LOCK).query_async(&mut conn).await.expect("load");
        let unlock: String = load(RAW_UNLOCK).query_async(&mut conn).await.expect("load");
        RawScripts { lock, unlock }
    }
}

async fn redis_conn(url: &str) -> redis::aio::MultiplexedConnection {
    redis::Client::open(url)
        .expect("redis url")
        .get_multiplexed_async_connection()
        .await
        .expect("connect")
}

/// A gateway process: the release binary, its own process, logging warnings only.
struct Gateway {
    child: Child,
    addr: String,
}

impl Gateway {
    async fn start(redis_url: &str, env: &[(&str, &str)]) -> Gateway {
        Self::start_binary(GATEWAY, redis_url, env).await
    }

    async fn start_binary(binary: &str, redis_url: &str, env: &[(&str, &str)]) -> Gateway {
        let addr = format!("127.0.0.1:{}", free_port());
        let child = Command::new(binary)
            .arg("serve")
            .env("LOCKGATE_SERVER__LISTEN", &addr)
            .env("LOCKGATE_REDIS__URL", redis_url)
            .env("LOCKGATE_LOG__LEVEL", "warn")
            .env("LOCKGATE_ADMIN__TOKEN", ADMIN_TOKEN)
            .env("LOCKGATE_SFP__JWT_SECRET", SFP_SECRET)
            .env("LOCKGATE_SYNCHRONIZE__SIGNUPS_PER_MINUTE", "1000000")
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start the lockgate binary");
        let gateway = Gateway { child, addr };
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(mut http) = Http::try_connect(&gateway.addr).await {
                if http.call(Method::GET, "/readyz", &[], None).await.0 == 200 {
                    return gateway;
                }
            }
            assert!(Instant::now() < deadline, "gateway did not become ready");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    fn rss_kb(&self) -> u64 {
        rss_kb(self.pid())
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// webdis in front of the same Redis (Debian's defaults: two threads), if it is installed.
struct Webdis {
    child: Child,
    addr: String,
    _dir: tempfile::TempDir,
}

impl Webdis {
    fn start(redis_port: u16) -> Option<Webdis> {
        let binary = which("webdis")?;
        let port = free_port();
        let dir = tempfile::tempdir().ok()?;
        let config = dir.path().join("webdis.json");
        let json = format!(
            r#"{{"redis_host":"127.0.0.1","redis_port":{redis_port},"http_host":"127.0.0.1",
               "http_port":{port},"threads":2,"daemonize":false,"database":0,
               "verbosity":0,"logfile":"{}"}}"#,
            dir.path().join("webdis.log").display()
        );
        std::fs::write(&config, json).ok()?;
        let child = Command::new(binary)
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .ok()?;
        let addr = format!("127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(5);
        while std::net::TcpStream::connect(&addr).is_err() {
            if Instant::now() > deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Some(Webdis {
            child,
            addr,
            _dir: dir,
        })
    }
}

impl Drop for Webdis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn lockable_account(pod: &Gateway) -> String {
    let mut http = Http::connect(&pod.addr).await;
    let auth = format!("Bearer {ADMIN_TOKEN}");
    let (status, body) = http
        .call(
            Method::POST,
            "/admin/v1/lockable/accounts",
            &[
                ("authorization", auth.as_str()),
                ("content-type", "application/json"),
            ],
            Some(r#"{"plan":"hobbyist"}"#.into()),
        )
        .await;
    assert_eq!(status, 201, "create lockable account");
    json_str(&body, "token").expect("token")
}

/// What `lockgate admin sfp token` would mint for the gateways' secret.
fn sfp_token() -> String {
    let settings = lockgate::config::SfpSettings {
        jwt_secret: SFP_SECRET.into(),
        ..Default::default()
    };
    lockgate::accounts::mint_sfp_token(&settings, "bench", "application", Duration::from_secs(3600))
        .expect("sfp token")
}

/// The shared course (a gadget and an editor per worker) and one session per worker.
async fn course_sessions(pod: &Gateway) -> Vec<String> {
    let workers = CONCURRENCY.iter().copied().max().unwrap_or(1);
    let mut http = Http::connect(&pod.addr).await;
    let admin = format!("Bearer {ADMIN_TOKEN}");
    let headers = [
        ("authorization", admin.as_str()),
        ("content-type", "application/json"),
    ];
    let list = |prefix: &str| {
        (0..workers)
            .map(|w| format!("\"{prefix}{w}\""))
            .collect::<Vec<_>>()
            .join(",")
    };
    let body = format!(r#"{{"gadgets":[{}],"editors":[{}]}}"#, list("g"), list("w"));
    let path = format!("/admin/v1/courses/{COURSE}");
    let (status, _) = http.call(Method::PUT, &path, &headers, Some(body)).await;
    assert_eq!(status, 200, "put the bench course");
    let mut sids = Vec::with_capacity(workers);
    for w in 0..workers {
        let body = format!(r#"{{"userId":"w{w}"}}"#);
        let (status, reply) = http
            .call(
                Method::POST,
                "/admin/v1/course-sessions",
                &headers,
                Some(body),
            )
            .await;
        assert_eq!(status, 201, "course session");
        sids.push(json_str(&reply, "sid").expect("sid"));
    }
    sids
}

async fn synchronize_key(pod: &Gateway) -> String {
    let mut http = Http::connect(&pod.addr).await;
    let (status, body) = http
        .call(Method::POST, "/api/v0/users/anonymous", &[], None)
        .await;
    assert!(status == 200 || status == 201, "sign up: {status}");
    json_str(&body, "apiKey").expect("apiKey")
}

/// A waiter on pod B, the holder unlocks on pod A: time from the unlock until B answers.
async fn handoff(pods: &[Gateway; 2]) {
    let mut holder = Http::connect(&pods[0].addr).await;
    let mut samples = Vec::with_capacity(HANDOFFS);
    for _ in 0..HANDOFFS {
        let (status, body) = holder
            .call(Method::PUT, "/mutex/lock/handoff?timeout=0", &[], None)
            .await;
        assert_eq!(status, 200, "hand-off holder");
        let id = json_str(&body, "mutex_id").expect("mutex_id");
        let mut waiter = Http::connect(&pods[1].addr).await;
        let waiting = tokio::spawn(async move {
            let reply = waiter
                .call(Method::PUT, "/mutex/lock/handoff?timeout=30", &[], None)
                .await;
            (Instant::now(), reply)
        });
        // Let the waiter queue: it subscribes and joins within a millisecond or two.
        tokio::time::sleep(Duration::from_millis(10)).await;
        let released = Instant::now();
        let path = format!("/mutex/lock/handoff?mutex_id={id}");
        assert_eq!(holder.call(Method::DELETE, &path, &[], None).await.0, 200);
        let (answered, (status, body)) = waiting.await.expect("waiter");
        assert_eq!(status, 200, "hand-off waiter");
        samples.push(answered.saturating_duration_since(released));
        let id = json_str(&body, "mutex_id").expect("mutex_id");
        let path = format!("/mutex/lock/handoff?mutex_id={id}");
        assert_eq!(holder.call(Method::DELETE, &path, &[], None).await.0, 200);
    }
    samples.sort();
    let at = |q: f64| samples[((samples.len() - 1) as f64 * q) as usize].as_secs_f64() * 1000.0;
    println!(
        "cross-gateway hand-off (unlock on A -> waiter on B answered): n={HANDOFFS} p50={:.3} ms p99={:.3} ms max={:.3} ms",
        at(0.5),
        at(0.99),
        at(1.0)
    );
}

/// Resident memory per parked waiter and per idle connection, on a fresh gateway; then Redis
/// bytes per held lock.
async fn memory(redis_url: &str) {
    let parked_goal = std::env::var("BENCH_PARKED")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(PARKED_DEFAULT);
    let cap = (parked_goal * 2 + 100).to_string();
    let pod = Gateway::start(
        redis_url,
        &[
            ("LOCKGATE_SERVER__MAX_CONNECTIONS", cap.as_str()),
            ("LOCKGATE_MAAS__MAX_LOCK_SECONDS", "300"),
        ],
    )
    .await;
    let mut holder = Http::connect(&pod.addr).await;
    for _ in 0..100 {
        holder
            .call(Method::GET, "/mutex/lock/warm", &[], None)
            .await;
    }
    let (status, _) = holder
        .call(Method::PUT, "/mutex/lock/parking?timeout=0", &[], None)
        .await;
    assert_eq!(status, 200, "parking holder");
    let base = pod.rss_kb();

    // Parked waiters: each its own connection, waiting on the held lock.
    let connections = open_many(&pod.addr, parked_goal).await;
    let mut waiting = Vec::with_capacity(parked_goal);
    for mut http in connections {
        waiting.push(tokio::spawn(async move {
            http.call(Method::PUT, "/mutex/lock/parking?timeout=280", &[], None)
                .await
        }));
    }
    let parked = wait_for_queue(redis_url, "parking", parked_goal).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let with_waiters = pod.rss_kb();
    println!(
        "gateway RSS: {base} kB idle, {with_waiters} kB with {parked} parked waiters = {:.1} KB per parked waiter",
        (with_waiters.saturating_sub(base)) as f64 / parked.max(1) as f64
    );
    for task in waiting {
        task.abort();
    }
    wait_for_queue(redis_url, "parking", 0).await;
    drop(holder);
    drop(pod);

    // Idle keep-alive connections, each having made one request, on another fresh gateway (an
    // allocator keeps what the waiters freed). Opening them all can take longer than the default
    // header-read timeout on a busy box, which would close the first ones before their request.
    let pod = Gateway::start(
        redis_url,
        &[
            ("LOCKGATE_SERVER__MAX_CONNECTIONS", cap.as_str()),
            ("LOCKGATE_SERVER__HEADER_READ_TIMEOUT_MS", "120000"),
        ],
    )
    .await;
    let mut warm = Http::connect(&pod.addr).await;
    for _ in 0..100 {
        warm.call(Method::GET, "/healthz", &[], None).await;
    }
    let base = pod.rss_kb();
    let mut idle = open_many(&pod.addr, parked_goal).await;
    for chunk in idle.chunks_mut(500) {
        let calls = chunk
            .iter_mut()
            .map(|http| http.call(Method::GET, "/healthz", &[], None));
        futures_util::future::join_all(calls).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let with_idle = pod.rss_kb();
    println!(
        "gateway RSS: {base} kB idle, {with_idle} kB with {} idle connections = {:.1} KB per idle connection",
        idle.len(),
        (with_idle.saturating_sub(base)) as f64 / idle.len().max(1) as f64
    );
    drop(idle);

    // Redis bytes per held lock, taken through the gateway.
    let mut conn = redis_conn(redis_url).await;
    let before: i64 = info_field(&mut conn, "memory", "used_memory").await;
    let workers: Vec<_> = (0..16)
        .map(|w| {
            let addr = pod.addr.clone();
            tokio::spawn(async move {
                let mut http = Http::connect(&addr).await;
                for i in (w..HELD_LOCKS).step_by(16) {
                    let path = format!("/mutex/lock/held-{i}?timeout=0");
                    assert_eq!(http.call(Method::PUT, &path, &[], None).await.0, 200);
                }
            })
        })
        .collect();
    for worker in workers {
        worker.await.expect("holder");
    }
    let after: i64 = info_field(&mut conn, "memory", "used_memory").await;
    println!(
        "Redis memory per held maas lock: {:.0} bytes ({HELD_LOCKS} locks)",
        (after - before) as f64 / HELD_LOCKS as f64
    );
}

/// Opens `n` keep-alive connections, 250 at a time.
async fn open_many(addr: &str, n: usize) -> Vec<Http> {
    let mut all = Vec::with_capacity(n);
    while all.len() < n {
        let batch = (n - all.len()).min(250);
        let opened = futures_util::future::join_all((0..batch).map(|_| Http::connect(addr))).await;
        all.extend(opened);
    }
    all
}

/// Waits (up to 60 s) until the maas lock `name` has `n` waiters; returns how many it has.
async fn wait_for_queue(redis_url: &str, name: &str, n: usize) -> usize {
    let mut conn = redis_conn(redis_url).await;
    // The key layout of `src/engine/keys.rs`: change this with it.
    let key = format!("lockgate:{{maas:{name}}}:queue");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let count: usize = redis::cmd("ZCARD")
            .arg(&key)
            .query_async(&mut conn)
            .await
            .expect("ZCARD");
        if count == n || Instant::now() > deadline {
            return count;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// One field of `INFO <section>`, parsed.
async fn info_field<T: std::str::FromStr>(
    conn: &mut redis::aio::MultiplexedConnection,
    section: &str,
    field: &str,
) -> T {
    let info: String = redis::cmd("INFO")
        .arg(section)
        .query_async(conn)
        .await
        .expect("INFO");
    info.lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("INFO {section} has no {field}"))
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port()
}

/// user + system CPU time of a process, in clock ticks.
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name (which may hold spaces) start at field 3.
    let rest = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let field = |n: usize| {
        fields
            .get(n - 3)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    field(14) + field(15)
}

fn ticks_per_second() -> f64 {
    // SAFETY: sysconf only reads a system constant.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if ticks > 0 {
        ticks as f64
    } else {
        100.0
    }
}

fn rss_kb(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches(" kB").parse().ok())
        })
        .unwrap_or(0)
}

/// Raises this process's open-file limit to its hard limit; the gateways inherit it.
fn raise_fd_limit() {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit write/read the struct we own.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) == 0 {
            limit.rlim_cur = limit.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
        }
    }
}

fn which(binary: &str) -> Option<std::path::PathBuf> {
    std::env::var_os("PATH")?
        .to_str()?
        .split(':')
        .map(|dir| std::path::Path::new(dir).join(binary))
        .find(|path| path.is_file())
}

fn machine() -> String {
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    format!("{cores} cores; client, gateways and Redis share them")
}
