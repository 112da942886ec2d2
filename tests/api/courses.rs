//! The courses dialect, black-box over HTTP, across two gateways on one Redis: SID sessions,
//! one editing lock per user per course, renewal by locking again, expiry, the operator's
//! courses and sessions, and every message of the original.

use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{reply, spawn_app, spawn_app_with, Reply, TestApp};

/// The operator: an admin API call.
async fn admin(app: &TestApp, method: Method, path: &str, body: Option<Value>) -> Reply {
    let mut request = app.admin(method, path);
    if let Some(body) = body {
        request = request.json(&body);
    }
    reply(request.send().await.expect("admin request")).await
}

/// The operator creates or replaces a course.
async fn put_course(app: &TestApp, id: &str, gadgets: &[&str], editors: &[&str]) -> Reply {
    let body = json!({"gadgets": gadgets, "editors": editors});
    admin(app, Method::PUT, &format!("/courses/{id}"), Some(body)).await
}

/// A new session of `user`: its SID and session id.
async fn session(app: &TestApp, user: &str) -> (String, String) {
    let created = admin(
        app,
        Method::POST,
        "/course-sessions",
        Some(json!({"userId": user})),
    )
    .await;
    assert_eq!(created.status, 201, "{created:?}");
    let sid = created.body["sid"].as_str().expect("sid").to_owned();
    let id = created.body["sessionId"].as_str().expect("id").to_owned();
    (sid, id)
}

/// A user's client of the courses API on one gateway.
struct User<'a> {
    app: &'a TestApp,
    sid: String,
}

impl<'a> User<'a> {
    async fn send(&self, method: Method, path: &str, body: Option<Value>) -> Reply {
        let mut request = self
            .app
            .client
            .request(method, self.app.courses(path))
            .header("SID", &self.sid);
        if let Some(body) = body {
            request = request.json(&body);
        }
        reply(request.send().await.expect("request")).await
    }

    async fn lock(&self, course: &str, gadget: &str) -> Reply {
        let body = json!({"type": "gadget", "subject": {"courseId": course, "gadgetId": gadget}});
        self.send(Method::POST, "/locks", Some(body)).await
    }

    async fn locks(&self, course: &str) -> Reply {
        self.send(
            Method::GET,
            &format!("/locks?subject.courseId={course}"),
            None,
        )
        .await
    }

    async fn unlock(&self, id: &str) -> Reply {
        self.send(Method::DELETE, &format!("/locks/{id}"), None)
            .await
    }
}

fn assert_error(reply: &Reply, status: u16, message: &str) {
    assert_eq!(reply.status, status, "{reply:?}");
    assert_eq!(reply.body, json!({"error": status, "message": message}));
}

fn id_of(lock: &Value) -> String {
    let id = lock["id"].as_str().expect("id is a string").to_owned();
    let n: i64 = id.parse().expect("a 64-bit integer");
    assert!(n > 0);
    id
}

/// A lock has the documented shape: id, type, subject, owner, expiry in ms and as a time,
/// creation time, fencing token.
fn assert_lock(lock: &Value, course: &str, gadget: &str, owner: &str) {
    id_of(lock);
    assert_eq!(lock["type"], "gadget");
    assert_eq!(
        lock["subject"],
        json!({"courseId": course, "gadgetId": gadget})
    );
    assert_eq!(lock["ownerId"], owner);
    let left = lock["expiresIn"].as_i64().expect("expiresIn");
    assert!(left > 0 && left <= 900_000, "{left}");
    for field in ["createdAt", "expiresAt"] {
        assert!(
            lock[field].as_str().is_some_and(|t| t.ends_with('Z')),
            "{field}"
        );
    }
    assert!(lock["fencingToken"].as_u64().is_some());
}

/// A user locks a gadget (201 with the lock and its `Fencing-Token`); the course's active locks
/// list it on another gateway; locking it again renews it with the same id, creation time and
/// token; another user is refused with `Resource locked`; the holder deletes it.
#[tokio::test]
async fn a_user_locks_renews_lists_and_releases_a_gadget() {
    let app = spawn_app().await;
    let peer = app.peer().await;
    put_course(&app, "algebra101", &["g1", "g2"], &["alice", "bob"]).await;
    let alice = User {
        app: &app,
        sid: session(&app, "alice").await.0,
    };
    let bob = User {
        app: &peer,
        sid: session(&app, "bob").await.0,
    };

    let locked = alice.lock("algebra101", "g1").await;
    assert_eq!(locked.status, 201, "{locked:?}");
    assert_lock(&locked.body, "algebra101", "g1", "alice");
    assert_eq!(locked.fence, locked.body["fencingToken"].as_u64());
    let id = id_of(&locked.body);

    let listed = bob.locks("algebra101").await;
    assert_eq!(listed.status, 200);
    assert_eq!(listed.body.as_array().expect("array").len(), 1);
    assert_eq!(listed.body[0]["id"], id.as_str());

    tokio::time::sleep(Duration::from_millis(50)).await;
    let again = alice.lock("algebra101", "g1").await;
    assert_eq!(again.status, 201);
    assert_eq!(again.body["id"], locked.body["id"]);
    assert_eq!(again.body["createdAt"], locked.body["createdAt"]);
    assert_eq!(again.body["fencingToken"], locked.body["fencingToken"]);
    assert!(
        again.body["expiresAt"].as_str() > locked.body["expiresAt"].as_str(),
        "renewed"
    );

    assert_error(&bob.lock("algebra101", "g1").await, 403, "Resource locked");
    assert_error(&bob.unlock(&id).await, 403, "Insufficient permissions");
    let other = bob.lock("algebra101", "g2").await;
    assert_eq!(other.status, 201);
    assert!(other.body["fencingToken"].as_u64() > locked.body["fencingToken"].as_u64());

    let released = alice.unlock(&id).await;
    assert_eq!(released.status, 200);
    assert_eq!(released.body, json!({}));
    assert_error(
        &alice.unlock(&id).await,
        404,
        &format!("Lock '{id}' not found"),
    );
    let listed = alice.locks("algebra101").await.body;
    assert_eq!(listed.as_array().expect("array").len(), 1);
    assert_eq!(listed[0]["ownerId"], "bob");
    // Free again: alice takes it.
    assert_eq!(alice.lock("algebra101", "g1").await.status, 201);
}

/// One lock per user per course: locking another gadget releases the first in the same step;
/// a refused request leaves the current lock as it is; another course is independent.
#[tokio::test]
async fn locking_another_gadget_releases_the_first() {
    let app = spawn_app().await;
    put_course(&app, "algebra101", &["g1", "g2", "g3"], &["alice", "bob"]).await;
    put_course(&app, "physics201", &["p1"], &["alice"]).await;
    let alice = User {
        app: &app,
        sid: session(&app, "alice").await.0,
    };
    let bob = User {
        app: &app,
        sid: session(&app, "bob").await.0,
    };
    let first = alice.lock("algebra101", "g1").await;
    let first_id = id_of(&first.body);
    bob.lock("algebra101", "g3").await;
    let physics = alice.lock("physics201", "p1").await;
    assert_eq!(physics.status, 201);

    // Refused (held by bob, unknown gadget): g1 stays alice's.
    assert_error(
        &alice.lock("algebra101", "g3").await,
        403,
        "Resource locked",
    );
    assert_error(
        &alice.lock("algebra101", "nope").await,
        404,
        "Gadget 'nope' not found",
    );
    let mine: Vec<Value> = alice
        .locks("algebra101")
        .await
        .body
        .as_array()
        .expect("array")
        .iter()
        .filter(|l| l["ownerId"] == "alice")
        .cloned()
        .collect();
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0]["id"], first_id.as_str());

    let second = alice.lock("algebra101", "g2").await;
    assert_eq!(second.status, 201);
    assert_ne!(second.body["id"], first.body["id"]);
    let listed = alice.locks("algebra101").await.body;
    let gadgets: Vec<(&str, &str)> = listed
        .as_array()
        .expect("array")
        .iter()
        .map(|l| {
            (
                l["subject"]["gadgetId"].as_str().expect("g"),
                l["ownerId"].as_str().expect("o"),
            )
        })
        .collect();
    assert_eq!(gadgets.len(), 2);
    assert!(
        gadgets.contains(&("g2", "alice")) && gadgets.contains(&("g3", "bob")),
        "{gadgets:?}"
    );
    assert_error(
        &alice.unlock(&first_id).await,
        404,
        &format!("Lock '{first_id}' not found"),
    );
    // bob can take g1 now; alice's physics lock was not touched.
    assert_eq!(bob.lock("algebra101", "g1").await.status, 201);
    assert_eq!(
        alice
            .locks("physics201")
            .await
            .body
            .as_array()
            .expect("array")
            .len(),
        1
    );
}

/// Locks expire `courses.lock_seconds` after their last lock call.
#[tokio::test]
async fn locks_expire_unless_locked_again() {
    let app = spawn_app_with(|s| s.courses.lock_seconds = 1).await;
    put_course(&app, "algebra101", &["g1", "g2"], &["alice", "bob"]).await;
    let alice = User {
        app: &app,
        sid: session(&app, "alice").await.0,
    };
    let bob = User {
        app: &app,
        sid: session(&app, "bob").await.0,
    };
    let kept = alice.lock("algebra101", "g1").await;
    let lapsed = bob.lock("algebra101", "g2").await;
    assert!(kept.body["expiresIn"].as_i64().expect("ms") <= 1000);
    for _ in 0..3 {
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert_eq!(alice.lock("algebra101", "g1").await.status, 201, "renewed");
    }
    let listed = alice.locks("algebra101").await.body;
    assert_eq!(listed.as_array().expect("array").len(), 1, "{listed}");
    assert_eq!(listed[0]["id"], kept.body["id"]);
    let id = id_of(&lapsed.body);
    assert_error(
        &bob.unlock(&id).await,
        404,
        &format!("Lock '{id}' not found"),
    );
    assert_eq!(
        alice.lock("algebra101", "g2").await.status,
        201,
        "g2 is free"
    );
}

/// Missing or unknown SIDs are 401 before anything else; a session ended by the operator is
/// refused on every gateway within 100 ms, also where it was just used.
#[tokio::test]
async fn sessions_are_checked_and_ended_everywhere_at_once() {
    let app = spawn_app().await;
    let peer = app.peer().await;
    put_course(&app, "algebra101", &["g1"], &["alice"]).await;
    let (sid, session_id) = session(&app, "alice").await;
    let here = User {
        app: &app,
        sid: sid.clone(),
    };
    let there = User {
        app: &peer,
        sid: sid.clone(),
    };
    assert_eq!(
        there.locks("algebra101").await.status,
        200,
        "cached on the peer"
    );
    let locked = here.lock("algebra101", "g1").await;
    let id = id_of(&locked.body);

    for bad in ["", "nope", &format!("{session_id}.{}", "0".repeat(64))] {
        let stranger = User {
            app: &app,
            sid: bad.to_owned(),
        };
        assert_error(
            &stranger.locks("algebra101").await,
            401,
            "Invalid credentials",
        );
        assert_error(
            &stranger
                .send(Method::POST, "/locks", Some(json!({"bad": 1})))
                .await,
            401,
            "Invalid credentials",
        );
        assert_error(&stranger.unlock(&id).await, 401, "Invalid credentials");
    }
    let no_header = app
        .client
        .get(app.courses("/locks?subject.courseId=algebra101"))
        .send()
        .await
        .expect("GET");
    assert_error(&reply(no_header).await, 401, "Invalid credentials");

    let ended = admin(
        &app,
        Method::DELETE,
        &format!("/course-sessions/{session_id}"),
        None,
    )
    .await;
    assert_eq!(ended.status, 200);
    let at = Instant::now();
    loop {
        if there.locks("algebra101").await.status == 401 {
            break;
        }
        assert!(
            at.elapsed() < Duration::from_millis(100),
            "still accepted after 100 ms"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert_error(
        &here.lock("algebra101", "g1").await,
        401,
        "Invalid credentials",
    );
    let again = admin(
        &app,
        Method::DELETE,
        &format!("/course-sessions/{session_id}"),
        None,
    )
    .await;
    assert_eq!(again.status, 404);
}

/// Sessions end by themselves after `courses.session_seconds`, even where a gateway cached
/// them (the end is checked with Redis's clock in the same script).
#[tokio::test]
async fn sessions_expire() {
    let app = spawn_app_with(|s| s.courses.session_seconds = 1).await;
    put_course(&app, "algebra101", &["g1"], &["alice"]).await;
    let alice = User {
        app: &app,
        sid: session(&app, "alice").await.0,
    };
    assert_eq!(alice.locks("algebra101").await.status, 200);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_error(&alice.locks("algebra101").await, 401, "Invalid credentials");
    assert_error(
        &alice.lock("algebra101", "g1").await,
        401,
        "Invalid credentials",
    );
}

/// The checks run in the original's order: 401, 400, 404 course, 403 permissions, 404 gadget,
/// 403 locked; and each answers its message.
#[tokio::test]
async fn refusals_come_in_order_with_the_originals_messages() {
    let app = spawn_app().await;
    put_course(&app, "algebra101", &["g1"], &["alice", "bob"]).await;
    let alice = User {
        app: &app,
        sid: session(&app, "alice").await.0,
    };
    let carol = User {
        app: &app,
        sid: session(&app, "carol").await.0,
    };
    alice.lock("algebra101", "g1").await;

    for body in [
        json!({"type": "gadget"}),
        json!({"type": "gadget", "subject": {"courseId": "algebra101"}}),
        json!({"type": "gadget", "subject": {"gadgetId": "g1"}}),
        json!({"type": "course", "subject": {"courseId": "algebra101", "gadgetId": "g1"}}),
        json!({"subject": {"courseId": "algebra101", "gadgetId": "g1"}}),
        json!({"type": "gadget", "subject": {"courseId": 7, "gadgetId": "g1"}}),
        json!({"type": "gadget", "subject": {"courseId": "unknown1", "gadgetId": ""}}),
        json!("gadget"),
    ] {
        let answer = carol.send(Method::POST, "/locks", Some(body.clone())).await;
        assert_eq!(answer.status, 400, "{body}: {answer:?}");
        assert_eq!(answer.body["error"], 400);
        assert!(answer.body["message"].is_string());
    }
    assert_eq!(
        carol.send(Method::GET, "/locks", None).await.status,
        400,
        "no courseId"
    );
    assert_error(
        &carol.lock("unknown1", "g1").await,
        404,
        "Course 'unknown1' not found",
    );
    assert_error(
        &carol.lock("UPPER", "g1").await,
        404,
        "Course 'UPPER' not found",
    );
    assert_error(
        &carol.locks("unknown1").await,
        404,
        "Course 'unknown1' not found",
    );
    assert_error(
        &carol.lock("algebra101", "nope").await,
        403,
        "Insufficient permissions",
    );
    assert_error(
        &carol.locks("algebra101").await,
        403,
        "Insufficient permissions",
    );
    assert_error(
        &alice.lock("algebra101", "nope").await,
        404,
        "Gadget 'nope' not found",
    );
    let bob = User {
        app: &app,
        sid: session(&app, "bob").await.0,
    };
    assert_error(&bob.lock("algebra101", "g1").await, 403, "Resource locked");
    for id in ["0", "-5", "abc", "99999999999999999999", "12345"] {
        assert_error(
            &alice.unlock(id).await,
            404,
            &format!("Lock '{id}' not found"),
        );
    }
}

/// The operator's course changes: a replace that drops a gadget or an editor releases the locks
/// that depended on it; deleting a course releases its locks; course ids are checked.
#[tokio::test]
async fn course_changes_release_the_locks_that_depended_on_them() {
    let app = spawn_app().await;
    let created = put_course(
        &app,
        "algebra101",
        &["g1", "g2", "g3"],
        &["alice", "bob", "carol"],
    )
    .await;
    assert_eq!(created.status, 200);
    assert_eq!(created.body["gadgets"], json!(["g1", "g2", "g3"]));
    let alice = User {
        app: &app,
        sid: session(&app, "alice").await.0,
    };
    let bob = User {
        app: &app,
        sid: session(&app, "bob").await.0,
    };
    let carol = User {
        app: &app,
        sid: session(&app, "carol").await.0,
    };
    alice.lock("algebra101", "g1").await;
    bob.lock("algebra101", "g2").await;
    carol.lock("algebra101", "g3").await;

    let replaced = put_course(&app, "algebra101", &["g1", "g3"], &["alice", "bob"]).await;
    assert_eq!(replaced.status, 200);
    assert_eq!(replaced.body["releasedLocks"], 2, "{:?}", replaced.body);
    assert_eq!(replaced.body["activeLocks"], 1);
    let listed = alice.locks("algebra101").await.body;
    assert_eq!(listed.as_array().expect("array").len(), 1);
    assert_eq!(listed[0]["ownerId"], "alice");
    assert_error(
        &carol.locks("algebra101").await,
        403,
        "Insufficient permissions",
    );

    let shown = admin(&app, Method::GET, "/courses/algebra101", None).await;
    assert_eq!(shown.status, 200);
    assert_eq!(shown.body["editors"], json!(["alice", "bob"]));
    let deleted = admin(&app, Method::DELETE, "/courses/algebra101", None).await;
    assert_eq!(
        deleted.body,
        json!({"courseId": "algebra101", "releasedLocks": 1})
    );
    assert_error(
        &alice.locks("algebra101").await,
        404,
        "Course 'algebra101' not found",
    );
    let gone = admin(&app, Method::GET, "/courses/algebra101", None).await;
    assert_eq!(gone.status, 404);
    for bad in ["short", "Upper123", "with-dash1"] {
        assert_eq!(
            put_course(&app, bad, &["g"], &["u"]).await.status,
            400,
            "{bad}"
        );
    }
}

/// Fencing tokens of a course only grow, across users and gadgets, and after the course is
/// deleted and created again.
#[tokio::test]
async fn fencing_tokens_grow_across_a_course() {
    let app = spawn_app().await;
    put_course(&app, "algebra101", &["g1", "g2"], &["alice", "bob"]).await;
    let alice = User {
        app: &app,
        sid: session(&app, "alice").await.0,
    };
    let bob = User {
        app: &app,
        sid: session(&app, "bob").await.0,
    };
    let token = |reply: &Reply| {
        assert_eq!(reply.status, 201, "{reply:?}");
        reply.body["fencingToken"].as_u64().expect("token")
    };
    let a1 = token(&alice.lock("algebra101", "g1").await);
    let bob_g2 = bob.lock("algebra101", "g2").await;
    let b2 = token(&bob_g2);
    bob.unlock(&id_of(&bob_g2.body)).await;
    let a2 = token(&alice.lock("algebra101", "g2").await);
    let b1 = token(&bob.lock("algebra101", "g1").await);
    assert!(a1 < b2 && b2 < a2 && a2 < b1, "{a1} {b2} {a2} {b1}");

    app.admin(Method::DELETE, "/courses/algebra101")
        .send()
        .await
        .expect("DELETE");
    put_course(&app, "algebra101", &["g1"], &["alice"]).await;
    let again = token(&alice.lock("algebra101", "g1").await);
    assert!(again > b1, "{again} after {b1}");
}

/// The `lockgate admin courses` commands do what the admin API does.
#[tokio::test]
async fn the_cli_manages_courses_and_sessions() {
    let app = spawn_app().await;
    let run = |args: &[&str]| {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_lockgate"))
            .args(["admin", "--redis-url", app.redis.url()])
            .args(["courses"])
            .args(args)
            .env(
                "LOCKGATE_REDIS__KEY_PREFIX",
                &app.settings().redis.key_prefix,
            )
            .output()
            .expect("run lockgate");
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        serde_json::from_slice::<Value>(&output.stdout).expect("JSON")
    };
    let course = run(&[
        "put-course",
        "geometry1",
        "--gadget",
        "a",
        "--gadget",
        "b",
        "--editor",
        "dana",
    ]);
    assert_eq!(course["gadgets"], json!(["a", "b"]));
    assert_eq!(
        run(&["show-course", "geometry1"])["editors"],
        json!(["dana"])
    );
    let created = run(&["create-session", "--user-id", "dana"]);
    let dana = User {
        app: &app,
        sid: created["sid"].as_str().expect("sid").to_owned(),
    };
    assert_eq!(dana.lock("geometry1", "a").await.status, 201);
    let session_id = created["sessionId"].as_str().expect("id");
    assert_eq!(run(&["end-session", session_id])["ended"], true);
    assert_error(&dana.locks("geometry1").await, 401, "Invalid credentials");
    assert_eq!(run(&["delete-course", "geometry1"])["releasedLocks"], 1);
}

/// Redis frozen: 503 in the courses' error shape within the timeout; afterwards the user's lock
/// is as it was.
#[tokio::test]
async fn a_frozen_redis_is_503_in_the_courses_shape() {
    let app = spawn_app_with(|s| s.redis.timeout_ms = 300).await;
    put_course(&app, "algebra101", &["g1", "g2"], &["alice"]).await;
    let alice = User {
        app: &app,
        sid: session(&app, "alice").await.0,
    };
    let held = alice.lock("algebra101", "g1").await;
    if !app.redis.freeze().await {
        return; // not our Redis to stop
    }
    let started = Instant::now();
    let refused = alice.locks("algebra101").await;
    assert_eq!(refused.status, 503);
    assert_eq!(refused.body["error"], 503);
    assert!(refused.body["message"].is_string());
    assert_eq!(alice.unlock(&id_of(&held.body)).await.status, 503);
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    app.redis.thaw().await;
    let listed = alice.locks("algebra101").await.body;
    assert_eq!(listed.as_array().expect("array").len(), 1);
    assert_eq!(listed[0]["id"], held.body["id"]);
}
