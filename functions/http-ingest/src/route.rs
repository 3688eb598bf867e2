//! Which source a request is for, by its path.

use overrun_sources::webhooks::checkin::PATH_PREFIX;

use crate::refusal::Refusal;

/// The OpenLineage HTTP transport's default endpoint, so a transport needs only the URL, and a
/// plainer alias.
pub const OPENLINEAGE_PATHS: [&str; 2] = ["/api/v1/lineage", "/openlineage"];
pub const GITHUB_PATH: &str = "/github";
/// Answers without authentication, and says nothing but that the endpoint is up.
pub const HEALTH_PATH: &str = "/health";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route<'a> {
    OpenLineage,
    GitHub,
    /// The path after `/ping/`.
    CheckIn(&'a str),
    Health,
}

pub fn route<'a>(method: &str, path: &'a str) -> Result<Route<'a>, Refusal> {
    let path = if path.len() > 1 { path.trim_end_matches('/') } else { path };
    let route = if OPENLINEAGE_PATHS.contains(&path) {
        Route::OpenLineage
    } else if path == GITHUB_PATH {
        Route::GitHub
    } else if let Some(rest) = path.strip_prefix(PATH_PREFIX) {
        Route::CheckIn(rest)
    } else if path == HEALTH_PATH {
        return if method == "GET" { Ok(Route::Health) } else { Err(Refusal::method_not_allowed(method)) };
    } else {
        return Err(Refusal::not_found(format!(
            "{path:?} is not an Overrun endpoint: POST to /api/v1/lineage (OpenLineage), /github (GitHub webhooks) or /ping/{{task}}/start|success|fail"
        )));
    };
    if method != "POST" {
        return Err(Refusal::method_not_allowed(method));
    }
    Ok(route)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_source_has_its_path_and_everything_else_is_refused() {
        assert_eq!(route("POST", "/api/v1/lineage"), Ok(Route::OpenLineage));
        assert_eq!(route("POST", "/openlineage/"), Ok(Route::OpenLineage));
        assert_eq!(route("POST", "/github"), Ok(Route::GitHub));
        assert_eq!(route("POST", "/ping/team/backup/start"), Ok(Route::CheckIn("team/backup/start")));
        assert_eq!(route("GET", "/health"), Ok(Route::Health));
        assert_eq!(route("GET", "/github").unwrap_err().status, 405);
        assert_eq!(route("POST", "/health").unwrap_err().status, 405);
        assert_eq!(route("POST", "/admin").unwrap_err().status, 404);
    }
}
