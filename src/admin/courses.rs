//! `/courses` and `/course-sessions`: the courses dialect's courses (gadgets, editors) and user
//! sessions, managed by the operator. The workflows live in `accounts::courses`.

use clap::Subcommand;
use poem::http::StatusCode;
use poem_openapi::param::Path;
use poem_openapi::payload::Json;
use poem_openapi::types::ToJSON;
use poem_openapi::{ApiResponse, Object, OpenApi, Tags};

use super::{AdminAuth, AdminError, AdminPart, AdminTools};
use crate::accounts::{self, CourseSession};
use crate::config::{CoursesSettings, Settings};
use crate::engine::{Course, Engine};
use crate::http::respond::{error_from, statuses, Documented};
use crate::http::time::rfc3339_ms;
use crate::http::ApiError;

/// The courses dialect's part of the operator's tools.
pub const TOOLS: AdminTools = AdminTools {
    api: Some(|engine, settings| {
        let api = CoursesAdminApi {
            engine: engine.clone(),
            rules: settings.courses.clone(),
            token: settings.admin.token.clone(),
        };
        AdminPart::new(&["/courses", "/course-sessions"], api, settings)
    }),
    cli: || {
        CoursesCommand::augment_subcommands(clap::Command::new("courses"))
            .about("Courses and user sessions of the courses dialect")
            .subcommand_required(true)
    },
    run: |settings, matches| {
        super::run_command(settings, matches, |engine, settings, command| async move {
            run(&engine, &settings, command).await
        })
    },
};

#[derive(Tags)]
enum CoursesTags {
    /// Courses of the courses dialect: their gadgets and the users who may edit them.
    Courses,
    /// User sessions of the courses dialect (`SID`).
    CourseSessions,
}

pub struct CoursesAdminApi {
    pub engine: Engine,
    pub rules: CoursesSettings,
    pub token: String,
}

#[derive(Debug, Object)]
#[oai(rename = "CourseDefinition")]
pub struct CourseDefinition {
    /// The course's gadget ids (each 1 to 256 bytes).
    pub gadgets: Vec<String>,
    /// User ids that may lock the course's gadgets.
    pub editors: Vec<String>,
}

#[derive(Debug, Object)]
#[oai(rename = "Course", rename_all = "camelCase")]
pub struct CourseView {
    pub course_id: String,
    /// Sorted.
    pub gadgets: Vec<String>,
    /// Sorted.
    pub editors: Vec<String>,
    /// RFC 3339, UTC.
    pub created_at: String,
    pub updated_at: String,
    /// Locks held now.
    pub active_locks: u64,
    /// On a put: locks released because their gadget or their holder left the course.
    #[oai(skip_serializing_if_is_none)]
    pub released_locks: Option<u64>,
}

#[derive(Debug, Object)]
#[oai(rename = "DeletedCourse", rename_all = "camelCase")]
pub struct DeletedCourse {
    pub course_id: String,
    /// Its locks, released by the deletion.
    pub released_locks: u64,
}

#[derive(Debug, Object)]
#[oai(rename = "NewCourseSession", rename_all = "camelCase")]
pub struct NewSession {
    pub user_id: String,
}

#[derive(Debug, Object)]
#[oai(rename = "CourseSession", rename_all = "camelCase")]
pub struct SessionView {
    /// Send as the `SID` header. Shown only here: lockgate stores a SHA-256 of its secret.
    pub sid: String,
    /// Public: for logs, and for ending the session.
    pub session_id: String,
    pub user_id: String,
    pub created_at: String,
    /// `courses.session_seconds` after its creation.
    pub expires_at: String,
}

#[derive(Debug, Object)]
#[oai(rename = "EndedCourseSession", rename_all = "camelCase")]
pub struct EndedSession {
    pub session_id: String,
    /// Always true: its `SID` is refused from now on, on every gateway.
    pub ended: bool,
}

impl CourseView {
    fn new(course: Course, released: Option<u64>) -> Self {
        Self {
            course_id: course.id,
            gadgets: course.gadgets,
            editors: course.editors,
            created_at: rfc3339_ms(course.created_at_ms),
            updated_at: rfc3339_ms(course.updated_at_ms),
            active_locks: course.active_locks,
            released_locks: released,
        }
    }
}

impl From<CourseSession> for SessionView {
    fn from(session: CourseSession) -> Self {
        Self {
            sid: session.sid.unwrap_or_default(),
            session_id: session.session_id,
            user_id: session.user_id,
            created_at: rfc3339_ms(session.created_at_ms),
            expires_at: rfc3339_ms(session.expires_at_ms),
        }
    }
}

#[derive(Debug, ApiResponse)]
pub enum CourseResponse {
    #[oai(status = 200)]
    Ok(Json<CourseView>),
    /// An error; each operation's document lists the statuses it returns.
    Error(StatusCode, Json<AdminError>),
}

#[derive(Debug, ApiResponse)]
pub enum DeleteCourseResponse {
    /// Deleted; its locks were released.
    #[oai(status = 200)]
    Ok(Json<DeletedCourse>),
    /// An error; each operation's document lists the statuses it returns.
    Error(StatusCode, Json<AdminError>),
}

#[derive(Debug, ApiResponse)]
pub enum SessionResponse {
    /// Created; the `sid` is shown only this once.
    #[oai(status = 201)]
    Created(Json<SessionView>),
    /// An error; each operation's document lists the statuses it returns.
    Error(StatusCode, Json<AdminError>),
}

#[derive(Debug, ApiResponse)]
pub enum EndSessionResponse {
    #[oai(status = 200)]
    Ok(Json<EndedSession>),
    /// An error; each operation's document lists the statuses it returns.
    Error(StatusCode, Json<AdminError>),
}

error_from!(super::error_body => CourseResponse, DeleteCourseResponse, SessionResponse, EndSessionResponse);

statuses!(PutCourseFails:
    400 "a course id that is not 6 to 64 lowercase letters and digits, or a bad gadget or user id",
    401 "a missing or wrong admin token",
    413 "a body over the configured limit",
    503 "the store is unavailable",
);
statuses!(CourseFails:
    400 "a course id that is not 6 to 64 lowercase letters and digits",
    401 "a missing or wrong admin token",
    404 "no such course",
    503 "the store is unavailable",
);
statuses!(CreateSessionFails:
    400 "a bad user id",
    401 "a missing or wrong admin token",
    413 "a body over the configured limit",
    503 "the store is unavailable",
);
statuses!(EndSessionFails:
    401 "a missing or wrong admin token",
    404 "no such session (or it ended)",
    503 "the store is unavailable",
);

#[OpenApi]
impl CoursesAdminApi {
    /// Create or replace a course
    ///
    /// Sets the course's gadgets and editors. Locks on a gadget that is no longer listed, or
    /// held by a user who is no longer an editor, are released.
    #[oai(
        path = "/courses/:courseId",
        method = "put",
        operation_id = "putCourse",
        tag = "CoursesTags::Courses"
    )]
    async fn put_course(
        &self,
        auth: AdminAuth,
        #[oai(name = "courseId")] course_id: Path<String>,
        body: Json<CourseDefinition>,
    ) -> Documented<CourseResponse, PutCourseFails> {
        let result = async {
            auth.check(&self.token)?;
            let put = accounts::put_course(&self.engine, &course_id, &body.gadgets, &body.editors)
                .await?;
            Ok::<_, ApiError>(CourseView::new(put.course, Some(put.released)))
        }
        .await;
        super::respond(result, |view| CourseResponse::Ok(Json(view)))
    }

    /// Show a course
    #[oai(
        path = "/courses/:courseId",
        method = "get",
        operation_id = "getCourse",
        tag = "CoursesTags::Courses"
    )]
    async fn get_course(
        &self,
        auth: AdminAuth,
        #[oai(name = "courseId")] course_id: Path<String>,
    ) -> Documented<CourseResponse, CourseFails> {
        let result = async {
            auth.check(&self.token)?;
            Ok::<_, ApiError>(accounts::get_course(&self.engine, &course_id).await?)
        }
        .await;
        super::respond(result, |course| {
            CourseResponse::Ok(Json(CourseView::new(course, None)))
        })
    }

    /// Delete a course
    ///
    /// The course, its gadgets and editors are forgotten, and its locks released.
    #[oai(
        path = "/courses/:courseId",
        method = "delete",
        operation_id = "deleteCourse",
        tag = "CoursesTags::Courses"
    )]
    async fn delete_course(
        &self,
        auth: AdminAuth,
        #[oai(name = "courseId")] course_id: Path<String>,
    ) -> Documented<DeleteCourseResponse, CourseFails> {
        let result = async {
            auth.check(&self.token)?;
            Ok::<_, ApiError>(accounts::delete_course(&self.engine, &course_id).await?)
        }
        .await;
        super::respond(result, |released| {
            DeleteCourseResponse::Ok(Json(DeletedCourse {
                course_id: course_id.0.clone(),
                released_locks: released,
            }))
        })
    }

    /// Create a user session
    ///
    /// Answers the `SID` the user sends to the courses API; it lasts
    /// `courses.session_seconds` (24 h).
    #[oai(
        path = "/course-sessions",
        method = "post",
        operation_id = "createCourseSession",
        tag = "CoursesTags::CourseSessions"
    )]
    async fn create_session(
        &self,
        auth: AdminAuth,
        body: Json<NewSession>,
    ) -> Documented<SessionResponse, CreateSessionFails> {
        let result = async {
            auth.check(&self.token)?;
            Ok::<_, ApiError>(
                accounts::create_course_session(&self.engine, &self.rules, &body.user_id).await?,
            )
        }
        .await;
        super::respond(result, |session| {
            SessionResponse::Created(Json(session.into()))
        })
    }

    /// End a user session
    ///
    /// Its `SID` is refused from now on, on every gateway (within 100 ms).
    #[oai(
        path = "/course-sessions/:sessionId",
        method = "delete",
        operation_id = "endCourseSession",
        tag = "CoursesTags::CourseSessions"
    )]
    async fn end_session(
        &self,
        auth: AdminAuth,
        #[oai(name = "sessionId")] session_id: Path<String>,
    ) -> Documented<EndSessionResponse, EndSessionFails> {
        let result = async {
            auth.check(&self.token)?;
            accounts::end_course_session(&self.engine, &session_id).await?;
            Ok::<_, ApiError>(())
        }
        .await;
        super::respond(result, |()| {
            EndSessionResponse::Ok(Json(EndedSession {
                session_id: session_id.0.clone(),
                ended: true,
            }))
        })
    }
}

/// `lockgate admin courses ...`: the same operations from the command line.
#[derive(Debug, Subcommand)]
pub enum CoursesCommand {
    /// Create or replace a course with its gadgets and editors.
    PutCourse {
        course_id: String,
        /// A gadget id; repeat for each.
        #[arg(long = "gadget")]
        gadgets: Vec<String>,
        /// A user id that may edit the course; repeat for each.
        #[arg(long = "editor")]
        editors: Vec<String>,
    },
    /// Print a course.
    ShowCourse { course_id: String },
    /// Delete a course, releasing its locks.
    DeleteCourse { course_id: String },
    /// Create a session for a user; prints its SID (shown only this once).
    CreateSession {
        #[arg(long)]
        user_id: String,
    },
    /// End a session at once.
    EndSession { session_id: String },
}

async fn run(
    engine: &Engine,
    settings: &Settings,
    command: CoursesCommand,
) -> Result<Option<serde_json::Value>, accounts::AccountError> {
    Ok(match command {
        CoursesCommand::PutCourse {
            course_id,
            gadgets,
            editors,
        } => {
            let put = accounts::put_course(engine, &course_id, &gadgets, &editors).await?;
            CourseView::new(put.course, Some(put.released)).to_json()
        }
        CoursesCommand::ShowCourse { course_id } => {
            CourseView::new(accounts::get_course(engine, &course_id).await?, None).to_json()
        }
        CoursesCommand::DeleteCourse { course_id } => {
            let released = accounts::delete_course(engine, &course_id).await?;
            DeletedCourse {
                course_id,
                released_locks: released,
            }
            .to_json()
        }
        CoursesCommand::CreateSession { user_id } => {
            let session =
                accounts::create_course_session(engine, &settings.courses, &user_id).await?;
            SessionView::from(session).to_json()
        }
        CoursesCommand::EndSession { session_id } => {
            accounts::end_course_session(engine, &session_id).await?;
            EndedSession {
                session_id,
                ended: true,
            }
            .to_json()
        }
    })
}
