//! Figures for the maas path, printed, never asserted: `cargo bench --bench maas`.
//!
//! Runs two gateways in this process on a private redis-server (needs one on PATH) and reports
//! uncontended latency, concurrent throughput, hand-off latency between gateways, and the Redis
//! memory a held lock costs. Numbers depend on the machine; compare runs on the same one.

use std::sync::Arc;
use std::time::{Duration, Instant};

use lockgate::config::Settings;
use lockgate::embedded::RedisServer;
use lockgate::Application;

const SEQUENTIAL: usize = 2000;
const CONCURRENCY: usize = 32;
const CONCURRENT_PER_TASK: usize = 200;
const HANDOFFS: usize = 200;
const HELD_LOCKS: usize = 10_000;

#[tokio::main]
async fn main() {
    let redis = RedisServer::start_private("redis-server")
        .await
        .expect("redis-server on PATH");
    let pod_a = start(redis.url()).await;
    let pod_b = start(redis.url()).await;
    let client = reqwest::Client::new();
    println!("lockgate maas benchmark (debug builds are far slower: use cargo bench)");

    // Uncontended: one client, lock then unlock, one name.
    let mut lock_times = Vec::with_capacity(SEQUENTIAL);
    let mut unlock_times = Vec::with_capacity(SEQUENTIAL);
    for _ in 0..SEQUENTIAL {
        let started = Instant::now();
        let body = lock(&client, &pod_a, "bench", 0).await;
        lock_times.push(started.elapsed());
        let started = Instant::now();
        unlock(&client, &pod_a, "bench", &body).await;
        unlock_times.push(started.elapsed());
    }
    report("uncontended PUT /lock", &mut lock_times);
    report("uncontended DELETE /lock", &mut unlock_times);

    // Throughput: many clients on distinct names, across both gateways.
    let started = Instant::now();
    let mut tasks = Vec::new();
    for task in 0..CONCURRENCY {
        let client = client.clone();
        let pod = if task % 2 == 0 {
            pod_a.clone()
        } else {
            pod_b.clone()
        };
        tasks.push(tokio::spawn(async move {
            let name = format!("bench-{task}");
            for _ in 0..CONCURRENT_PER_TASK {
                let body = lock(&client, &pod, &name, 0).await;
                unlock(&client, &pod, &name, &body).await;
            }
        }));
    }
    for task in tasks {
        task.await.expect("task");
    }
    let cycles = CONCURRENCY * CONCURRENT_PER_TASK;
    let elapsed = started.elapsed();
    println!(
        "{CONCURRENCY} clients, lock+unlock cycles: {cycles} in {:.2} s = {:.0} cycles/s",
        elapsed.as_secs_f64(),
        cycles as f64 / elapsed.as_secs_f64()
    );

    // Hand-off: a waiter on gateway B, the holder unlocks on gateway A.
    let mut handoffs = Vec::with_capacity(HANDOFFS);
    for _ in 0..HANDOFFS {
        let held = lock(&client, &pod_a, "handoff", 0).await;
        let waiter = {
            let client = client.clone();
            let pod_b = pod_b.clone();
            tokio::spawn(async move {
                let body = lock(&client, &pod_b, "handoff", 30).await;
                (Instant::now(), body)
            })
        };
        // Let the waiter queue (it subscribes and enqueues within a millisecond or two).
        tokio::time::sleep(Duration::from_millis(5)).await;
        let released = Instant::now();
        unlock(&client, &pod_a, "handoff", &held).await;
        let (acquired, body) = waiter.await.expect("waiter");
        handoffs.push(acquired.saturating_duration_since(released));
        unlock(&client, &pod_b, "handoff", &body).await;
    }
    report(
        "hand-off, unlock on A -> waiter on B answered",
        &mut handoffs,
    );

    // Memory: Redis bytes per held lock.
    let before = used_memory(redis.url()).await;
    for i in 0..HELD_LOCKS {
        lock(&client, &pod_a, &format!("held-{i}"), 0).await;
    }
    let after = used_memory(redis.url()).await;
    println!(
        "Redis memory per held lock: {:.0} bytes ({HELD_LOCKS} locks)",
        (after - before) as f64 / HELD_LOCKS as f64
    );
    println!("gateway process RSS: {} kB", rss_kb());
}

async fn start(redis_url: &str) -> Arc<String> {
    let mut settings = Settings::default();
    settings.server.listen = "127.0.0.1:0".into();
    settings.redis.url = redis_url.to_owned();
    settings.log.level = "warn".into();
    let app = Application::build(settings).await.expect("build");
    let base = format!("http://{}/mutex", app.local_addr());
    tokio::spawn(app.run_until_stopped(std::future::pending()));
    Arc::new(base)
}

async fn lock(client: &reqwest::Client, base: &str, name: &str, timeout: u64) -> String {
    let response = client
        .put(format!("{base}/lock/{name}?timeout={timeout}"))
        .send()
        .await
        .expect("PUT");
    assert_eq!(response.status(), 200, "lock {name}");
    let body: serde_json::Value = response.json().await.expect("json");
    body["mutex_id"].as_str().expect("mutex_id").to_owned()
}

async fn unlock(client: &reqwest::Client, base: &str, name: &str, mutex_id: &str) {
    let response = client
        .delete(format!("{base}/lock/{name}?mutex_id={mutex_id}"))
        .send()
        .await
        .expect("DELETE");
    assert_eq!(response.status(), 200, "unlock {name}");
}

fn report(what: &str, samples: &mut [Duration]) {
    samples.sort();
    let at = |q: f64| samples[((samples.len() - 1) as f64 * q) as usize];
    println!(
        "{what}: n={} p50={:.3} ms p90={:.3} ms p99={:.3} ms max={:.3} ms",
        samples.len(),
        ms(at(0.5)),
        ms(at(0.9)),
        ms(at(0.99)),
        ms(at(1.0))
    );
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

async fn used_memory(url: &str) -> i64 {
    let client = redis::Client::open(url).expect("client");
    let mut conn = client
        .get_multiplexed_async_connection()
        .await
        .expect("connect");
    let info: String = redis::cmd("INFO")
        .arg("memory")
        .query_async(&mut conn)
        .await
        .expect("INFO");
    info.lines()
        .find_map(|l| l.strip_prefix("used_memory:"))
        .and_then(|n| n.trim().parse().ok())
        .expect("used_memory")
}

fn rss_kb() -> String {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .map(|v| v.trim().trim_end_matches(" kB").to_owned())
        })
        .unwrap_or_else(|| "?".into())
}
