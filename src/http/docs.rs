//! Swagger UI at `/docs`, one page for every dialect's document, with a picker;
//! `/docs?api=<name>` opens one directly.
//!
//! poem-openapi's own page embeds a single document, so this page reuses its inlined assets
//! (CSS and the Swagger UI bundle, no network needed) and loads documents by URL.

use bytes::Bytes;
use poem::{Endpoint, Request, Response};
use poem_openapi::OpenApiService;

/// The `/docs` page (about 1.6 MB), built once at startup and shared, never copied.
#[derive(Clone)]
pub struct DocsPage(Bytes);

/// One entry of the picker: a dialect's name and where its document is served.
pub struct DocLink {
    pub name: String,
    pub url: String,
}

impl DocsPage {
    pub fn new(links: &[DocLink]) -> Self {
        let stock = OpenApiService::new((), "", "").swagger_ui_html();
        let style = between(&stock, "<style charset=\"UTF-8\">", "</style>");
        let script = between(&stock, "<script charset=\"UTF-8\">", "</script>");
        let options: String = links
            .iter()
            .map(|link| {
                format!(
                    "<option value=\"{}\">{}</option>",
                    escape(&link.url),
                    escape(&link.name)
                )
            })
            .collect();
        Self(
            PAGE.replace("{:style}", style)
                .replace("{:script}", script)
                .replace("{:options}", &options)
                .into(),
        )
    }
}

impl Endpoint for DocsPage {
    type Output = Response;

    async fn call(&self, _: Request) -> poem::Result<Response> {
        Ok(Response::builder()
            .content_type("text/html; charset=utf-8")
            .body(self.0.clone()))
    }
}

fn between<'a>(text: &'a str, start: &str, end: &str) -> &'a str {
    text.split_once(start)
        .and_then(|(_, rest)| rest.split_once(end))
        .map(|(inner, _)| inner)
        .unwrap_or("")
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

const PAGE: &str = r#"<!DOCTYPE html>
<html>
<head>
<meta charset="utf-8">
<title>lockgate API documents</title>
<style>{:style}</style>
<style>#picker{font-family:sans-serif;padding:12px 20px;background:#1b1b1b;color:#fff}#picker select{font-size:1em;margin-left:8px}</style>
<script>{:script}</script>
</head>
<body>
<div id="picker"><label>lockgate API<select id="spec">{:options}</select></label></div>
<div id="ui"></div>
<script>
  const select = document.getElementById('spec');
  // `/docs?api=<name>` opens that API's document.
  const wanted = new URLSearchParams(location.search).get('api');
  for (const option of select.options) {
    if (option.text === wanted) { select.value = option.value; }
  }
  function show() {
    SwaggerUIBundle({ dom_id: '#ui', url: select.value, deepLinking: true });
  }
  select.addEventListener('change', show);
  show();
</script>
</body>
</html>
"#;
